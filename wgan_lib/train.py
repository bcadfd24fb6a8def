"""Training: the post's loop for a stack of independent runs (`StackTrainer`), the one trainer.

The post's loop (book chapter "Sources", the post's code), per epoch: reshuffle the data and take
int(N / batch) batches; per batch, n_critic discriminator updates (fresh noise each, the same real
batch), each followed by clipping every D weight and bias to [-clip, clip], then one generator
update through the frozen D. After the epoch, record the mean losses and D's range on the plotting
grid; at snapshot epochs, record 2500 generator samples, D on the grid and the metrics.

`StackTrainer` trains E runs at once: every parameter carries a leading run axis and one batched
matrix product serves all runs. Runs may differ in loss, learning rate, decay, betas, clip,
n_critic, noise kind and seed; they must share the network shapes and the schedule. Its updates
differentiate the networks by hand (`models.stacked_backward`) from the gradient of the losses
with respect to the networks' outputs, which autograd takes on the losses' own small graph; a
critic update whose loss has a gradient penalty (it differentiates D twice) goes through autograd
end to end. Every random number comes from per-run generators in a fixed order, so a run gives
the same numbers in any stack, up to float rounding of the batched products (a stack's rounding
depends on its size: the book's chapter on seeds measures it).

The losses come from `losses.LOSSES`; nothing here depends on which losses there are.
"""
import copy
import math
import time

import numpy as np
import torch

from .data import GRID_CENTERS, GRID_STD, sample_grid, sample_noise
from .losses import LOSSES, CriticBatch
from .metrics import snapshot_metrics
from .models import (discriminator_sizes, generator_sizes, init_stacked_mlp, stacked_backward, stacked_forward,
                     stacked_forward_saving)
from .optim import keras_adam_update_, keras_step_size

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
    """What one run records: per-epoch curves, snapshots with metrics (and, when asked, D's
    weights), status."""

    def __init__(self, config):
        self.config = config
        self.status = "running"
        self.failed_epoch = None
        self.reason = None
        self.epoch_logs = {key: [] for key in ("d_loss", "g_loss", "d_min", "d_max")}
        self.snapshot_epochs = []
        self.samples = []
        self.d_grid = []
        self.d_weights = []
        self.metrics = []

    def to_state(self):
        """Plain Python values and tensors only, so a checkpoint loads with weights_only=True."""
        return copy.deepcopy({
            "status": self.status, "failed_epoch": self.failed_epoch, "reason": self.reason,
            "epoch_logs": self.epoch_logs, "snapshot_epochs": self.snapshot_epochs,
            "samples": [torch.from_numpy(a) for a in self.samples],
            "d_grid": [torch.from_numpy(a) for a in self.d_grid],
            "d_weights": [torch.from_numpy(a) for a in self.d_weights], "metrics": self.metrics})

    def load_state(self, state):
        for key, value in copy.deepcopy(state).items():
            if key in ("samples", "d_grid", "d_weights"):
                value = [t.numpy() for t in value]
            setattr(self, key, value)


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


def check_stackable(configs):
    """Raise TrainingError unless the configs can share one stack (SHARED_FIELDS agree)."""
    if not configs:
        raise TrainingError("a stack needs at least one run")
    for name in SHARED_FIELDS:
        values = {getattr(c, name) for c in configs}
        if len(values) > 1:
            raise TrainingError(f"runs in one stack must share {name}; got {sorted(map(str, values))}")


class _Part:
    """Runs of a stack that take one update together, and what the update needs about them, looked
    up once: how to pick them from a stacked tensor (a slice where they are consecutive, so the
    picked tensors are views and an update lands in place; else an index, a copy), which positions
    have which loss with that loss's per-run settings, and their optimiser settings."""

    def __init__(self, trainer, runs):
        ids = list(range(trainer.n_runs)) if runs is None else list(runs)
        device = trainer.device
        consecutive = ids == list(range(ids[0], ids[-1] + 1))
        self.pick = slice(ids[0], ids[-1] + 1) if consecutive else torch.tensor(ids, device=device)
        self.in_place = consecutive
        self.n_runs = len(ids)
        positions = {}
        for pos, e in enumerate(ids):
            positions.setdefault(trainer.configs[e].loss, []).append(pos)
        single = len(positions) == 1
        # (loss, positions in the part or None for all, the loss's settings for those runs)
        self.kinds = [(LOSSES[name], None if single else torch.tensor(pos, device=device),
                       LOSSES[name].settings([trainer.configs[ids[p]] for p in pos], device))
                      for name, pos in positions.items()]
        self.order = None if single else torch.argsort(torch.cat([pos for _, pos, _ in self.kinds]))
        self.hyper = {name: value[self.pick] for name, value in trainer.hyper.items()}
        self.epsilon = trainer.epsilon[self.pick]
        self.autograd = any(loss.gradient_penalty for loss, _, _ in self.kinds)  # D differentiated twice
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
            buffer = torch.empty(self.n_runs, flat.shape[1], device=flat.device)
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
            values = torch.as_tensor(values, dtype=sums.dtype, device=sums.device).expand(self.n_runs)
            sums.index_add_(0, self.pick, values)


class Epoch:
    """One epoch in progress: the runs still training, the parts that take each update slot, and
    the sums of the epoch's losses. `StackTrainer.start_epoch` makes it; `train_batch` and
    `finish_epoch` take it."""

    def __init__(self, trainer, alive):
        self.alive = alive
        self.number = trainer.epoch
        zeros = lambda: torch.zeros(trainer.n_runs, dtype=torch.float64, device=trainer.device)  # noqa: E731
        self.d_sum, self.g_sum, self.n_d = zeros(), zeros(), zeros()
        everyone = len(alive) == trainer.n_runs
        # The runs taking their s-th critic update of the batch (None stands for every run).
        self.critic_parts = []
        for s in range(max(trainer.n_critic[e] for e in alive)):
            runs = [e for e in alive if trainer.n_critic[e] > s]
            self.critic_parts.append(trainer._part(None if len(runs) == trainer.n_runs else runs))
        self.g_part = trainer._part(None if everyone else alive)


class StackTrainer:
    """Train a stack of runs together: `train()` to the end, or `train_epoch()` one epoch at a
    time, or `start_epoch()`, `train_batch(epoch, b)` and `finish_epoch(epoch)` batch by batch.
    With `record_weights`, D's weights are recorded at every snapshot (`RunLog.d_weights`)."""

    def __init__(self, configs, device="cpu", progress=False, record_weights=False):
        check_stackable(configs)
        self.configs = list(configs)
        self.losses = [LOSSES[c.loss] for c in self.configs]
        self.device = torch.device(device)
        self.progress = progress
        self.record_weights = record_weights
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
            flat = torch.cat([p.detach().reshape(self.n_runs, -1) for p in layers], 1).to(self.device)
            self.nets[net] = {
                "flat": flat.requires_grad_(),
                "shapes": [tuple(p.shape[1:]) for p in layers],
                "exp_avg": torch.zeros_like(flat), "exp_avg_sq": torch.zeros_like(flat),
                "iterations": torch.zeros(self.n_runs, 1, device=self.device),  # float32, exact to 2**24
            }

        def per_run(values):
            return torch.tensor(values, dtype=torch.float32, device=self.device).view(-1, 1)

        self.hyper = {name: per_run([getattr(c, name) for c in configs])
                      for name in ("lr", "beta_1", "beta_2", "decay")}
        self.epsilon = per_run([c.epsilon for c in configs])
        self.clip = per_run([float("inf") if c.clip is None else c.clip for c in configs])
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

    def _critic_step(self, part, real, noise, mix):
        """One critic update for the runs of `part` on the same real batch; their losses, shape (len,).

        D's gradient is taken by hand (`stacked_backward`) from the gradient of the losses with
        respect to D's outputs, which autograd gives on the losses' own small graph. A loss with a
        gradient penalty differentiates D twice, so a part holding one goes through autograd."""
        act = self.shared.activation
        with torch.no_grad():
            fake = stacked_forward(part.layers(self, "g"), noise, act)
            both = torch.cat([real, fake], 1)
        if part.autograd:
            d_flat = self.nets["d"]["flat"][part.pick]
            d_params = self.layers("d", d_flat)
            out = stacked_forward(d_params, both, act)[..., 0]
            per_kind = self._critic_losses(part, out, real, fake, mix, d_params)
            (grad,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), d_flat)
        else:
            d_params = part.layers(self, "d")
            out, inputs = stacked_forward_saving(d_params, both, act)
            out = out[..., 0].requires_grad_()
            per_kind = self._critic_losses(part, out, real, fake, mix, d_params)
            (grad_out,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), out)
            grad, grad_layers = part.gradient_buffer(self, "d")
            stacked_backward(d_params, inputs, grad_out[..., None], act, grad_layers)
        self._adam("d", grad, part)
        with torch.no_grad():
            flat = self.nets["d"]["flat"].data
            torch.clamp(flat, -self.clip, self.clip, out=flat)
        return part.gather_losses(per_kind)

    def _critic_losses(self, part, out, real, fake, mix, d_params):
        """The critic losses of the part's runs, one tensor per loss (in `part.kinds` order)."""
        n_real = real.shape[1]
        d_real, d_fake = out[:, :n_real], out[:, n_real:]
        act = self.shared.activation
        per_kind = []
        for loss, pos, settings in part.kinds:
            def pick(t, pos=pos):
                return t if pos is None or t is None else t[pos]

            batch = CriticBatch(real=pick(real), fake=pick(fake), mix=pick(mix), settings=settings)
            if loss.gradient_penalty:
                critic_params = [pick(p) for p in d_params]
                batch.critic = lambda x, params=critic_params: stacked_forward(params, x, act)
            per_kind.append(loss.critic_loss(pick(d_real), pick(d_fake), batch))
        return per_kind

    def _generator_step(self, part, noise):
        """One generator update for the runs of `part` through their frozen D; their losses.
        The gradient is taken by hand through D and G, as in `_critic_step`."""
        act = self.shared.activation
        g_params, d_params = part.layers(self, "g"), part.layers(self, "d")
        fake, g_inputs = stacked_forward_saving(g_params, noise, act)
        out, d_inputs = stacked_forward_saving(d_params, fake, act)
        out = out[..., 0].requires_grad_()
        per_kind = [loss.generator_loss(out if pos is None else out[pos]) for loss, pos, _ in part.kinds]
        (grad_out,) = torch.autograd.grad(sum(loss.sum() for loss in per_kind), out)
        grad_fake = stacked_backward(d_params, d_inputs, grad_out[..., None], act)
        grad, grad_layers = part.gradient_buffer(self, "g")
        stacked_backward(g_params, g_inputs, grad_fake, act, grad_layers)
        self._adam("g", grad, part)
        return part.gather_losses(per_kind)

    # ----------------------------------------------------------------- the post's loop
    def _draw_batch_noise(self, alive):
        """Per run, in a fixed order: n_critic + 1 noise batches, then (a gradient penalty) the
        mixing weights."""
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
            if self.losses[e].gradient_penalty:
                if mix is None:
                    mix = torch.zeros(k, self.n_runs, c.batch_size, 1, device=self.device)
                mix[: self.n_critic[e], e] = torch.rand(self.n_critic[e], c.batch_size, 1, generator=gen,
                                                        device=self.device)
        return d_noise, g_noise, mix

    def start_epoch(self):
        """Reshuffle each live run's data; the `Epoch` that `train_batch` and `finish_epoch` take,
        or None when no run is live."""
        alive = [e for e, log in enumerate(self.logs) if log.status == "running"]
        if not alive:
            return None
        for e in alive:
            perm = torch.randperm(self.shared.n_samples, generator=self.generators[e]["train"], device=self.device)
            self.data[e] = self.data[e][perm]
        return Epoch(self, alive)

    def train_batch(self, epoch, b):
        """The post's inner loop for batch b of `epoch`: n_critic critic updates, then one
        generator update."""
        c = self.shared
        real_all = self.data[:, b * c.batch_size:(b + 1) * c.batch_size]
        d_noise, g_noise, mix = self._draw_batch_noise(epoch.alive)
        for s, part in enumerate(epoch.critic_parts):
            loss = self._critic_step(part, real_all[part.pick], d_noise[s][part.pick],
                                     None if mix is None else mix[s][part.pick])
            part.accumulate(epoch.d_sum, loss)
            part.accumulate(epoch.n_d, 1.0)
        part = epoch.g_part
        part.accumulate(epoch.g_sum, self._generator_step(part, g_noise[part.pick]))

    def finish_epoch(self, epoch):
        """Record the epoch's mean losses, stop runs that diverged, evaluate, advance the epoch."""
        c = self.shared
        d_mean = (epoch.d_sum / epoch.n_d.clamp(min=1)).cpu()
        g_mean = (epoch.g_sum / c.batches_per_epoch).cpu()
        for e in epoch.alive:
            log = self.logs[e]
            log.epoch_logs["d_loss"].append(float(d_mean[e]))
            log.epoch_logs["g_loss"].append(float(g_mean[e]))
            check_finite(log, self.epoch, float(d_mean[e]), float(g_mean[e]),
                         {"discriminator": [p[e] for p in self.d_params],
                          "generator": [p[e] for p in self.g_params]})
        self._evaluate(self.epoch in c.snapshots)
        self.epoch += 1
        if self.epoch == c.epochs:
            for log in self.logs:
                if log.status == "running":
                    log.status = "completed"

    def _evaluate(self, record_snapshot):
        """Record D's range on the grid for every live run and, at snapshot epochs, samples, D,
        the metrics (and D's weights when asked)."""
        config = self.shared
        g_params, d_params = [p.detach() for p in self.g_params], [p.detach() for p in self.d_params]
        with torch.no_grad():
            d_on_grid = stacked_forward(d_params, self.grid.expand(self.n_runs, -1, -1), config.activation)[..., 0]
            d_min, d_max = d_on_grid.amin(1).cpu(), d_on_grid.amax(1).cpu()
            live = [e for e, log in enumerate(self.logs) if log.status == "running"]
            for e in live:
                self.logs[e].epoch_logs["d_min"].append(float(d_min[e]))
                self.logs[e].epoch_logs["d_max"].append(float(d_max[e]))
            if not record_snapshot:
                return
            noise = torch.stack([sample_noise((config.n_eval_samples, config.noise_dim), log.config.noise,
                                              gens["eval"]) for log, gens in zip(self.logs, self.generators)])
            samples = stacked_forward(g_params, noise.to(self.device), config.activation).cpu()
            side = config.plot_resolution
            for e in live:
                log = self.logs[e]
                real = real_reference_sample(config, self.generators[e]["eval"])
                log.snapshot_epochs.append(self.epoch)
                log.samples.append(samples[e].numpy().copy())
                log.d_grid.append(d_on_grid[e].reshape(side, side).cpu().numpy().copy())
                if self.record_weights:
                    log.d_weights.append(self.nets["d"]["flat"][e].detach().cpu().numpy().copy())
                finite = bool(torch.isfinite(samples[e]).all())
                metrics = snapshot_metrics(samples[e].numpy(), real.numpy()) if finite else None
                log.metrics.append(dict(epoch=self.epoch, **(metrics or {})))

    def train_epoch(self):
        """Train every live run for one epoch, then record and check it."""
        start = time.perf_counter()
        epoch = self.start_epoch()
        if epoch is None:
            return
        for b in range(self.shared.batches_per_epoch):
            self.train_batch(epoch, b)
        self.finish_epoch(epoch)
        self.wall_time += time.perf_counter() - start

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
