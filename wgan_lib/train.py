"""Training: the post's loop for a stack of independent runs, and the same loop for one plain run.

The post's loop (reference.md §1), per epoch: reshuffle the data and take int(N / batch) batches;
per batch, n_critic discriminator updates (fresh noise each, the same real batch), each followed
by clipping every D weight and bias to [-clip, clip], then one generator update through the
frozen D. After the epoch, record losses and D's range on the plotting grid; at snapshot epochs,
record 2500 generator samples, D on the grid and the metrics.

`StackTrainer` trains E runs at once: every parameter carries a leading run axis and one batched
matrix product serves all runs. Runs may differ in loss, learning rate, decay, beta, clip,
n_critic, noise kind and seed; they must share the network shapes and the schedule. Its updates
differentiate the networks by hand (`models.stacked_backward`) from the gradient of the losses
with respect to the networks' outputs, which autograd takes on the losses' own small graph; a
WGAN-GP critic update, whose penalty differentiates D twice, goes through autograd end to end.
`train_reference` is the plain one-run loop (nn.Sequential + KerasAdam), kept as the readable
reference and the benchmark's baseline. Both draw every random number from per-run generators in
the same order, so a run gives the same numbers alone, in any stack, or in the reference loop
(up to float rounding of the batched products).
"""
import copy
import math
import time

import numpy as np
import torch

from . import losses
from .data import GRID_CENTERS, GRID_STD, sample_grid, sample_noise
from .metrics import snapshot_metrics
from .models import (build_mlp, discriminator_sizes, generator_sizes, init_stacked_mlp,
                     sequential_to_stacked, stacked_backward, stacked_forward, stacked_forward_saving)
from .optim import KerasAdam, keras_adam_update_, keras_step_size

STREAMS = ("data", "init", "train", "eval")
# Fields that every run of one stack must share (the rest may differ run by run).
SHARED_FIELDS = ("epochs", "batch_size", "samples_per_center", "noise_dim", "g_width", "g_depth",
                 "d_width", "d_depth", "activation", "snapshot_epochs", "snapshot_every",
                 "n_eval_samples", "plot_extent", "plot_resolution")


class TrainingError(RuntimeError):
    """A stack of runs cannot be trained together (its configs disagree on a shared field)."""


def run_generators(seed, device="cpu"):
    """One torch.Generator per purpose, all derived from the run's seed.

    Separate streams keep one purpose's draws from shifting another's: changing the snapshot
    epochs, say, does not change the training noise. The data, initial weights and evaluation
    noise are drawn on the CPU, so they are the same on every device.
    """
    states = np.random.SeedSequence(seed).generate_state(len(STREAMS), dtype=np.uint64)
    generators = {}
    for name, state in zip(STREAMS, states):
        gen_device = device if name == "train" else "cpu"
        generators[name] = torch.Generator(device=gen_device).manual_seed(int(state) >> 1)
    return generators


def plot_grid(config):
    """The points where D is evaluated for its contour map: a square lattice over the plotted area."""
    axis = torch.linspace(-config.plot_extent, config.plot_extent, config.plot_resolution)
    xs, ys = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], 1)


def real_reference_sample(config, generator):
    """Fresh real points for the W1 distance (not the training set)."""
    centers = torch.as_tensor(GRID_CENTERS, dtype=torch.float32)
    idx = torch.randint(len(centers), (config.n_eval_samples,), generator=generator)
    return centers[idx] + torch.randn(config.n_eval_samples, 2, generator=generator) * GRID_STD


class RunLog:
    """What one run records: per-epoch curves, snapshots with metrics, status."""

    def __init__(self, config):
        self.config = config
        self.status = "running"
        self.failed_epoch = None
        self.reason = None
        self.epoch_logs = {key: [] for key in ("d_loss", "g_loss", "d_min", "d_max")}
        self.snapshot_epochs = []
        self.samples = []
        self.d_grid = []
        self.metrics = []

    def to_state(self):
        """Plain Python values and tensors only, so a checkpoint loads with weights_only=True."""
        return copy.deepcopy({
            "status": self.status, "failed_epoch": self.failed_epoch, "reason": self.reason,
            "epoch_logs": self.epoch_logs, "snapshot_epochs": self.snapshot_epochs,
            "samples": [torch.from_numpy(a) for a in self.samples],
            "d_grid": [torch.from_numpy(a) for a in self.d_grid], "metrics": self.metrics})

    def load_state(self, state):
        for key, value in copy.deepcopy(state).items():
            if key in ("samples", "d_grid"):
                value = [t.numpy() for t in value]
            setattr(self, key, value)


def evaluate_epoch(logs, g_params, d_params, epoch, eval_generators, grid, record_snapshot):
    """Record D's range on the grid for every run and, at snapshot epochs, samples, D and metrics."""
    config = logs[0].config
    device = g_params[0].device
    with torch.no_grad():
        n_runs = g_params[0].shape[0]
        d_on_grid = stacked_forward(d_params, grid.to(device).expand(n_runs, -1, -1), config.activation)[..., 0]
        d_min, d_max = d_on_grid.amin(1).cpu(), d_on_grid.amax(1).cpu()
        for e, log in enumerate(logs):
            if log.status != "running":
                continue
            log.epoch_logs["d_min"].append(float(d_min[e]))
            log.epoch_logs["d_max"].append(float(d_max[e]))
        if not record_snapshot:
            return
        noise = torch.stack([sample_noise((config.n_eval_samples, config.noise_dim), log.config.noise,
                                          eval_generators[e]) for e, log in enumerate(logs)])
        samples = stacked_forward(g_params, noise.to(device), config.activation).cpu()
        side = config.plot_resolution
        for e, log in enumerate(logs):
            if log.status != "running":
                continue
            real = real_reference_sample(config, eval_generators[e])
            log.snapshot_epochs.append(epoch)
            log.samples.append(samples[e].numpy().copy())
            log.d_grid.append(d_on_grid[e].reshape(side, side).cpu().numpy().copy())
            finite = bool(torch.isfinite(samples[e]).all())
            metrics = snapshot_metrics(samples[e].numpy(), real.numpy()) if finite else None
            log.metrics.append(dict(epoch=epoch, **(metrics or {})))


def check_finite(log, epoch, d_loss, g_loss, params):
    """Mark a run diverged when its losses or weights stopped being finite."""
    for name, value in (("discriminator loss", d_loss), ("generator loss", g_loss)):
        if not math.isfinite(value):
            return _diverge(log, epoch, f"{name} became {value}")
    for name, tensors in params.items():
        if not all(bool(torch.isfinite(t).all()) for t in tensors):
            return _diverge(log, epoch, f"{name} weights became non-finite")
    return False


def _diverge(log, epoch, reason):
    log.status, log.failed_epoch, log.reason = "diverged", epoch, reason
    return True


def _check_stackable(configs):
    for name in SHARED_FIELDS:
        values = {getattr(c, name) for c in configs}
        if len(values) > 1:
            raise TrainingError(f"runs in one stack must share {name}; got {sorted(map(str, values))}")


class _Part:
    """Runs of a stack that take one update together, and what the update needs about them, looked
    up once: how to pick them from a stacked tensor (a slice where they are consecutive, so the
    picked tensors are views and an update lands in place; else an index, a copy), which positions
    have which loss, and their per-run settings."""

    def __init__(self, trainer, runs):
        ids = list(range(trainer.n_runs)) if runs is None else list(runs)
        device = trainer.device
        consecutive = ids == list(range(ids[0], ids[-1] + 1))
        self.pick = slice(ids[0], ids[-1] + 1) if consecutive else torch.tensor(ids, device=device)
        self.in_place = consecutive
        positions = {}
        for pos, e in enumerate(ids):
            positions.setdefault(trainer.configs[e].loss, []).append(pos)
        if len(positions) == 1:
            self.losses = [(next(iter(positions)), None)]
            self.order = None
        else:
            self.losses = [(kind, torch.tensor(pos, device=device)) for kind, pos in positions.items()]
            self.order = torch.argsort(torch.cat([pos for _, pos in self.losses]))
        self.hyper = {name: value[self.pick] for name, value in trainer.hyper.items()}
        self.epsilon = trainer.epsilon[self.pick]
        self.coulomb_dim = trainer.coulomb_dim[self.pick]
        self.coulomb_eps = trainer.coulomb_eps[self.pick]
        self.gp_lambda = trainer.gp_lambda[self.pick]
        self.autograd = "wgan-gp" in positions  # its penalty differentiates D twice
        self._views, self._gradients = {}, {}

    def layers(self, trainer, net):
        """The part's layer tensors of network `net` ('g' or 'd'), outside autograd: views of the
        stack's weights when the part is a slice (made once: the weights change in place), else copies."""
        if not self.in_place:
            return trainer.layers(net, trainer.nets[net]["flat"].detach()[self.pick])
        if net not in self._views:
            self._views[net] = trainer.layers(net, trainer.nets[net]["flat"].detach()[self.pick])
        return self._views[net]

    def gradient_buffer(self, trainer, net):
        """A (runs, P) buffer for the gradient of network `net`, and its layer views (made once)."""
        if net not in self._gradients:
            flat = trainer.nets[net]["flat"]
            buffer = torch.empty(len(range(flat.shape[0])[self.pick]) if self.in_place else len(self.pick),
                                 flat.shape[1], device=flat.device)
            self._gradients[net] = (buffer, trainer.layers(net, buffer))
        return self._gradients[net]

    def gather_losses(self, per_kind):
        """One loss per run of the part, in its order, from the losses of each kind (detached)."""
        return (per_kind[0] if self.order is None else torch.cat(per_kind)[self.order]).detach()

    def accumulate(self, sums, values):
        """sums[e] += value for the part's runs e; `sums` float64, `values` a tensor or a number."""
        if self.in_place:
            sums[self.pick] += values
        else:
            values = torch.as_tensor(values, dtype=sums.dtype, device=sums.device).expand(len(self.pick))
            sums.index_add_(0, self.pick, values)


class StackTrainer:
    """Train a stack of runs together. `train()` runs to the end; `train_epoch()` one epoch at a time."""

    def __init__(self, configs, device="cpu", progress=False):
        if not configs:
            raise TrainingError("a stack needs at least one run")
        _check_stackable(configs)
        self.configs = list(configs)
        self.device = torch.device(device)
        self.progress = progress
        c0 = self.configs[0]
        self.shared = c0
        self.n_runs = len(configs)
        self.generators = [run_generators(c.seed, self.device) for c in configs]
        self.logs = [RunLog(c) for c in configs]
        self.epoch = 0
        self.wall_time = 0.0

        # Each run's data set and initial weights come from its own generators.
        self.data = torch.stack([sample_grid(c.samples_per_center, GRID_STD, g["data"])
                                 for c, g in zip(configs, self.generators)]).to(self.device)
        init_gens = [g["init"] for g in self.generators]
        # Each network's weights live in one (E, P) buffer; the layers are views into it, so the
        # optimiser and the clipping are a handful of operations on one tensor per network.
        self.nets = {}
        for net, sizes in (("g", generator_sizes(c0)), ("d", discriminator_sizes(c0))):
            layers = init_stacked_mlp(sizes, init_gens)
            self.nets[net] = {
                "flat": torch.cat([p.detach().reshape(self.n_runs, -1) for p in layers], 1).to(self.device)
                .requires_grad_(),
                "shapes": [tuple(p.shape[1:]) for p in layers],
                "exp_avg": None, "exp_avg_sq": None,
                "iterations": torch.zeros(self.n_runs, 1, device=self.device),  # float32, exact to 2**24
            }
            state = self.nets[net]
            state["exp_avg"] = torch.zeros_like(state["flat"])
            state["exp_avg_sq"] = torch.zeros_like(state["flat"])

        def per_run(values, dtype=torch.float32):
            return torch.tensor(values, dtype=dtype, device=self.device).view(-1, 1)

        self.hyper = {name: per_run([getattr(c, name) for c in configs])
                      for name in ("lr", "beta_1", "beta_2", "decay")}
        self.epsilon = per_run([c.epsilon for c in configs])
        self.clip = per_run([float("inf") if c.clip is None else c.clip for c in configs])
        self.coulomb_dim = per_run([c.coulomb_dim for c in configs]).view(-1, 1, 1)
        self.coulomb_eps = per_run([c.coulomb_eps for c in configs]).view(-1, 1, 1)
        self.gp_lambda = per_run([c.gp_lambda for c in configs]).view(-1)
        self.n_critic = [c.n_critic for c in configs]
        self.grid = plot_grid(c0).to(self.device)
        self._parts = {}

    def layers(self, net, flat=None):
        """The layer tensors [W_0, b_0, ...] of network `net` ('g' or 'd') as views of its buffer."""
        state = self.nets[net]
        flat = state["flat"] if flat is None else flat
        sizes = [math.prod(shape) for shape in state["shapes"]]
        return [part.view(flat.shape[0], *shape)
                for part, shape in zip(torch.split(flat, sizes, dim=1), state["shapes"])]

    @property
    def g_params(self):
        return self.layers("g")

    @property
    def d_params(self):
        return self.layers("d")

    # ----------------------------------------------------------------- one update of D or G
    def _part(self, runs):
        """`_Part` for the runs in `runs` (None: every run), made once and kept."""
        key = None if runs is None else tuple(runs)
        if key not in self._parts:
            self._parts[key] = _Part(self, runs)
        return self._parts[key]

    def _adam(self, net, grad, part):
        """Keras Adam on the runs of `part`; the others' weights and state stay as they are."""
        state = self.nets[net]
        pick = part.pick
        k = state["iterations"][pick]
        hyper = part.hyper
        step = keras_step_size(hyper["lr"], hyper["beta_1"], hyper["beta_2"], hyper["decay"], k)
        with torch.no_grad():
            flat, m, v = state["flat"].data[pick], state["exp_avg"][pick], state["exp_avg_sq"][pick]
            keras_adam_update_(flat, grad, m, v, step, hyper["beta_1"], hyper["beta_2"], part.epsilon)
            if part.in_place:  # flat, m and v are views: the update has landed
                state["iterations"][pick] += 1
            else:
                state["flat"].data.index_copy_(0, pick, flat)
                state["exp_avg"].index_copy_(0, pick, m)
                state["exp_avg_sq"].index_copy_(0, pick, v)
                state["iterations"].index_add_(0, pick, torch.ones_like(k))

    def _d_step(self, part, real, noise, mix):
        """One critic update for the runs of `part` on the same real batch; their losses, shape (len,).

        D's gradient is taken by hand (`stacked_backward`) from the gradient of the losses with
        respect to D's outputs, which autograd gives on the losses' own small graph. WGAN-GP's
        penalty differentiates D twice, so a part with a WGAN-GP run goes through autograd."""
        act = self.shared.activation
        with torch.no_grad():
            fake = stacked_forward(part.layers(self, "g"), noise, act)
            both = torch.cat([real, fake], 1)
        if part.autograd:
            d_flat = self.nets["d"]["flat"][part.pick]
            d_params = self.layers("d", d_flat)
            out = stacked_forward(d_params, both, act)[..., 0]
            per_kind = self._d_losses(part, out, real, fake, mix, d_params)
            (grad,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), d_flat)
        else:
            d_params = part.layers(self, "d")
            out, inputs = stacked_forward_saving(d_params, both, act)
            out = out[..., 0].requires_grad_()
            per_kind = self._d_losses(part, out, real, fake, mix, d_params)
            (grad_out,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), out)
            grad, grad_layers = part.gradient_buffer(self, "d")
            stacked_backward(d_params, inputs, grad_out[..., None], act, grad_layers)
        self._adam("d", grad, part)
        with torch.no_grad():
            flat = self.nets["d"]["flat"].data
            torch.clamp(flat, -self.clip, self.clip, out=flat)
        return part.gather_losses(per_kind)

    def _d_losses(self, part, out, real, fake, mix, d_params):
        """The critic losses of the part's runs, one tensor per loss kind (in `part.losses` order)."""
        n_real = real.shape[1]
        d_real, d_fake = out[:, :n_real], out[:, n_real:]
        per_kind = []
        for kind, pos in part.losses:
            def pick(t, pos=pos):
                return t if pos is None else t[pos]

            if kind == "standard":
                loss = losses.standard_d_loss(pick(d_real), pick(d_fake))
            elif kind == "wgan":
                loss = losses.wgan_d_loss(pick(d_real), pick(d_fake))
            elif kind == "coulomb":
                loss = losses.coulomb_d_loss(pick(d_real), pick(d_fake), pick(real), pick(fake),
                                             pick(part.coulomb_dim), pick(part.coulomb_eps))
            else:  # wgan-gp
                critic_params = [pick(p) for p in d_params]
                act = self.shared.activation
                penalty = losses.gradient_penalty(lambda x: stacked_forward(critic_params, x, act),
                                                  pick(real), pick(fake), pick(mix))
                loss = losses.wgan_gp_d_loss(pick(d_real), pick(d_fake)) + pick(part.gp_lambda) * penalty
            per_kind.append(loss)
        return per_kind

    def _g_step(self, part, noise):
        """One generator update for the runs of `part` through their frozen D; their losses.
        The gradient is taken by hand through D and G, as in `_d_step`."""
        act = self.shared.activation
        g_params, d_params = part.layers(self, "g"), part.layers(self, "d")
        fake, g_inputs = stacked_forward_saving(g_params, noise, act)
        out, d_inputs = stacked_forward_saving(d_params, fake, act)
        out = out[..., 0].requires_grad_()
        per_kind = [losses.standard_g_loss(out if pos is None else out[pos]) if kind == "standard"
                    else losses.mean_output_g_loss(out if pos is None else out[pos])
                    for kind, pos in part.losses]
        (grad_out,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), out)
        grad_fake = stacked_backward(d_params, d_inputs, grad_out[..., None], act)
        grad, grad_layers = part.gradient_buffer(self, "g")
        stacked_backward(g_params, g_inputs, grad_fake, act, grad_layers)
        self._adam("g", grad, part)
        return part.gather_losses(per_kind)

    # ----------------------------------------------------------------- the post's loop
    def _draw_batch_noise(self, alive):
        """Per run, in a fixed order: n_critic + 1 noise batches, then (WGAN-GP) the mixing weights."""
        c = self.shared
        k = max(self.n_critic[e] for e in alive)
        d_noise = torch.zeros(k, self.n_runs, c.batch_size, c.noise_dim, device=self.device)
        g_noise = torch.zeros(self.n_runs, c.batch_size, c.noise_dim, device=self.device)
        mix = None
        for e in alive:
            gen = self.generators[e]["train"]
            z = sample_noise((self.n_critic[e] + 1, c.batch_size, c.noise_dim), self.configs[e].noise, gen)
            d_noise[: self.n_critic[e], e] = z[:-1]
            g_noise[e] = z[-1]
            if self.configs[e].loss == "wgan-gp":
                if mix is None:
                    mix = torch.zeros(k, self.n_runs, c.batch_size, 1, device=self.device)
                mix[: self.n_critic[e], e] = torch.rand(self.n_critic[e], c.batch_size, 1, generator=gen,
                                                        device=self.device)
        return d_noise, g_noise, mix

    def train_epoch(self):
        """Train every live run for one epoch, then record and check it."""
        start = time.perf_counter()
        if not self.begin_epoch():
            return
        for b in range(self.shared.batches_per_epoch):
            self.train_batch(b)
        self.end_epoch()
        self.wall_time += time.perf_counter() - start

    def begin_epoch(self):
        """Reshuffle each live run's data and reset the epoch's loss sums; False when no run is live."""
        self._alive = [e for e, log in enumerate(self.logs) if log.status == "running"]
        if not self._alive:
            return False
        for e in self._alive:
            perm = torch.randperm(self.shared.n_samples, generator=self.generators[e]["train"], device=self.device)
            self.data[e] = self.data[e][perm]
        zeros = lambda: torch.zeros(self.n_runs, dtype=torch.float64, device=self.device)  # noqa: E731
        self._d_sum, self._g_sum, self._n_d = zeros(), zeros(), zeros()
        everyone = len(self._alive) == self.n_runs
        max_critic = max(self.n_critic[e] for e in self._alive)
        # The runs taking their s-th critic update of the batch (None stands for every run).
        self._critic_parts = []
        for s in range(max_critic):
            runs = [e for e in self._alive if self.n_critic[e] > s]
            self._critic_parts.append(self._part(None if len(runs) == self.n_runs else runs))
        self._g_part = self._part(None if everyone else self._alive)
        return True

    def train_batch(self, b):
        """The post's inner loop for batch b: n_critic critic updates, then one generator update."""
        c = self.shared
        real_all = self.data[:, b * c.batch_size:(b + 1) * c.batch_size]
        d_noise, g_noise, mix = self._draw_batch_noise(self._alive)
        for s, part in enumerate(self._critic_parts):
            loss = self._d_step(part, real_all[part.pick], d_noise[s][part.pick],
                                None if mix is None else mix[s][part.pick])
            part.accumulate(self._d_sum, loss)
            part.accumulate(self._n_d, 1.0)
        part = self._g_part
        part.accumulate(self._g_sum, self._g_step(part, g_noise[part.pick]))

    def end_epoch(self):
        """Record the epoch's mean losses, stop runs that diverged, evaluate, advance the epoch."""
        c = self.shared
        d_mean = (self._d_sum / self._n_d.clamp(min=1)).cpu()
        g_mean = (self._g_sum / c.batches_per_epoch).cpu()
        epoch = self.epoch
        for e in self._alive:
            log = self.logs[e]
            log.epoch_logs["d_loss"].append(float(d_mean[e]))
            log.epoch_logs["g_loss"].append(float(g_mean[e]))
            check_finite(log, epoch, float(d_mean[e]), float(g_mean[e]),
                         {"discriminator": [p[e] for p in self.d_params],
                          "generator": [p[e] for p in self.g_params]})
        evaluate_epoch(self.logs, [p.detach() for p in self.g_params], [p.detach() for p in self.d_params], epoch,
                       [g["eval"] for g in self.generators], self.grid, epoch in c.snapshots)
        self.epoch += 1
        if self.epoch == c.epochs:
            for log in self.logs:
                if log.status == "running":
                    log.status = "completed"

    def train(self, on_epoch=None):
        """Train to the configured number of epochs; `on_epoch(self)` is called after each one."""
        from tqdm.auto import tqdm

        bar = tqdm(total=self.shared.epochs, initial=self.epoch, disable=not self.progress,
                   desc=f"{self.n_runs} run(s)", unit="epoch")
        while self.epoch < self.shared.epochs and any(log.status == "running" for log in self.logs):
            self.train_epoch()
            bar.update(1)
            if on_epoch is not None:
                on_epoch(self)
        bar.close()
        return self.logs

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self):
        """Everything needed to continue exactly: weights, optimiser state, counters, data order,
        every generator's state and the records so far. Only tensors and plain Python values, so
        it loads with torch.load(weights_only=True)."""
        return {
            "epoch": self.epoch,
            "wall_time": self.wall_time,
            "nets": {net: {key: state[key].detach().cpu().clone()
                           for key in ("flat", "exp_avg", "exp_avg_sq", "iterations")}
                     for net, state in self.nets.items()},
            "data": self.data.cpu().clone(),
            "generators": [{k: g.get_state() for k, g in gens.items()} for gens in self.generators],
            "logs": [log.to_state() for log in self.logs],
            "configs": [c.to_dict() for c in self.configs],
        }

    def load_state_dict(self, state):
        if state["configs"] != [c.to_dict() for c in self.configs]:
            raise TrainingError("checkpoint belongs to other configs")
        self.epoch, self.wall_time = state["epoch"], state["wall_time"]
        with torch.no_grad():
            for net, saved in state["nets"].items():
                for key, value in saved.items():
                    self.nets[net][key].copy_(value)
            self.data.copy_(state["data"])
        for gens, saved in zip(self.generators, state["generators"]):
            for key, g in gens.items():
                g.set_state(saved[key])
        for log, saved in zip(self.logs, state["logs"]):
            log.load_state(saved)


class ReferenceTrainer:
    """The plain one-run loop: nn.Sequential networks, KerasAdam, the post's schedule.

    Written as the post's Keras script reads, one run at a time; it draws the same random numbers
    as `StackTrainer` does for this run, in the same order. `train_reference` runs it to the end.
    """

    def __init__(self, config):
        self.config = c = config
        self.gens = run_generators(c.seed)
        self.data = sample_grid(c.samples_per_center, GRID_STD, self.gens["data"])
        self.generator = build_mlp(generator_sizes(c), c.activation, self.gens["init"])
        self.discriminator = build_mlp(discriminator_sizes(c), c.activation, self.gens["init"])
        opt = dict(lr=c.lr, beta_1=c.beta_1, beta_2=c.beta_2, epsilon=c.epsilon, decay=c.decay)
        self.g_opt = KerasAdam(self.generator.parameters(), **opt)
        self.d_opt = KerasAdam(self.discriminator.parameters(), **opt)
        self.log = RunLog(c)
        self.grid = plot_grid(c)
        self.epoch = 0

    def critic(self, x):
        """D in the stacked form the shared loss functions take: (1, n, 2) -> (1, n, 1)."""
        return self.discriminator(x[0])[None]

    def begin_epoch(self):
        self.data = self.data[torch.randperm(len(self.data), generator=self.gens["train"])]
        self.d_total, self.g_total = 0.0, 0.0

    def train_batch(self, b):
        c, batch = self.config, self.config.batch_size
        real = self.data[b * batch:(b + 1) * batch][None]
        z = sample_noise((c.n_critic + 1, batch, c.noise_dim), c.noise, self.gens["train"])
        mix = torch.rand(c.n_critic, batch, 1, generator=self.gens["train"]) if c.loss == "wgan-gp" else None
        for s in range(c.n_critic):
            with torch.no_grad():
                fake = self.generator(z[s])[None]
            out = self.critic(torch.cat([real, fake], 1))[..., 0]
            d_real, d_fake = out[:, :batch], out[:, batch:]
            if c.loss == "standard":
                d_loss = losses.standard_d_loss(d_real, d_fake)
            elif c.loss == "wgan":
                d_loss = losses.wgan_d_loss(d_real, d_fake)
            elif c.loss == "coulomb":
                d_loss = losses.coulomb_d_loss(d_real, d_fake, real, fake, c.coulomb_dim, c.coulomb_eps)
            else:
                d_loss = (losses.wgan_gp_d_loss(d_real, d_fake)
                          + c.gp_lambda * losses.gradient_penalty(self.critic, real, fake, mix[s][None]))
            self.d_opt.zero_grad()
            d_loss.sum().backward()
            self.d_opt.step()
            if c.clip is not None:
                with torch.no_grad():
                    for p in self.discriminator.parameters():
                        p.clamp_(-c.clip, c.clip)
            self.d_total += float(d_loss.detach())
        for p in self.discriminator.parameters():
            p.requires_grad_(False)  # the frozen D of the post's combined model
        d_fake = self.critic(self.generator(z[-1])[None])[..., 0]
        g_loss = losses.standard_g_loss(d_fake) if c.loss == "standard" else losses.mean_output_g_loss(d_fake)
        self.g_opt.zero_grad()
        g_loss.sum().backward()
        self.g_opt.step()
        for p in self.discriminator.parameters():
            p.requires_grad_(True)
        self.g_total += float(g_loss.detach())

    def end_epoch(self):
        c, log = self.config, self.log
        d_mean = self.d_total / (c.batches_per_epoch * c.n_critic)
        g_mean = self.g_total / c.batches_per_epoch
        log.epoch_logs["d_loss"].append(d_mean)
        log.epoch_logs["g_loss"].append(g_mean)
        g_params, d_params = sequential_to_stacked(self.generator), sequential_to_stacked(self.discriminator)
        if not check_finite(log, self.epoch, d_mean, g_mean, {"discriminator": d_params, "generator": g_params}):
            evaluate_epoch([log], g_params, d_params, self.epoch, [self.gens["eval"]], self.grid,
                           self.epoch in c.snapshots)
        self.epoch += 1
        if self.epoch == c.epochs and log.status == "running":
            log.status = "completed"


def train_reference(config, progress=False):
    """Train one run with the plain loop; return (RunLog, generator module, discriminator module)."""
    from tqdm.auto import trange

    trainer = ReferenceTrainer(config)
    for _ in trange(config.epochs, disable=not progress, desc=config.case, unit="epoch"):
        trainer.begin_epoch()
        for b in range(config.batches_per_epoch):
            trainer.train_batch(b)
        trainer.end_epoch()
        if trainer.log.status != "running":
            break
    return trainer.log, trainer.generator, trainer.discriminator
