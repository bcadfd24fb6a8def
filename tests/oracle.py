"""The plain one-run loop, written as the post's Keras script reads: the test oracle of the stacked
trainer. nn.Sequential networks, `optim.KerasAdam`, the registry's loss functions, clipping after
every critic update; it draws the same random numbers as `train.StackTrainer` does for this run,
in the same order, so the two agree up to float rounding (tests/test_train.py)."""
import torch

from wgan_lib.data import GRID_STD, sample_grid, sample_noise
from wgan_lib.losses import LOSSES, CriticBatch
from wgan_lib.models import build_mlp, discriminator_sizes, generator_sizes
from wgan_lib.optim import KerasAdam
from wgan_lib.train import RunLog, run_generators


def train_reference(config):
    """Train one run with the plain loop; return (RunLog with the epoch logs, generator, discriminator)."""
    c = config
    loss = LOSSES[c.loss]
    gens = run_generators(c.seed)
    data = sample_grid(c.samples_per_center, GRID_STD, gens["data"])
    generator = build_mlp(generator_sizes(c), c.activation, gens["init"])
    discriminator = build_mlp(discriminator_sizes(c), c.activation, gens["init"])
    opt = dict(lr=c.lr, beta_1=c.beta_1, beta_2=c.beta_2, epsilon=c.epsilon, decay=c.decay)
    g_opt, d_opt = KerasAdam(generator.parameters(), **opt), KerasAdam(discriminator.parameters(), **opt)
    settings = loss.settings([c])
    log = RunLog(c)

    def critic(x):  # D in the stacked form the losses take: (1, n, 2) -> (1, n, 1)
        return discriminator(x[0])[None]

    batch_size = c.batch_size
    for _ in range(c.epochs):
        data = data[torch.randperm(len(data), generator=gens["train"])]
        d_total = g_total = 0.0
        for b in range(c.batches_per_epoch):
            real = data[b * batch_size:(b + 1) * batch_size][None]
            z = sample_noise((c.n_critic + 1, batch_size, c.noise_dim), c.noise, gens["train"])
            mix = torch.rand(c.n_critic, batch_size, 1, generator=gens["train"]) if loss.gradient_penalty else None
            for s in range(c.n_critic):
                with torch.no_grad():
                    fake = generator(z[s])[None]
                out = critic(torch.cat([real, fake], 1))[..., 0]
                batch = CriticBatch(real, fake, None if mix is None else mix[s][None], critic, settings)
                d_loss = loss.critic_loss(out[:, :batch_size], out[:, batch_size:], batch)
                d_opt.zero_grad()
                d_loss.sum().backward()
                d_opt.step()
                if c.clip is not None:
                    with torch.no_grad():
                        for p in discriminator.parameters():
                            p.clamp_(-c.clip, c.clip)
                d_total += float(d_loss.detach())
            for p in discriminator.parameters():
                p.requires_grad_(False)  # the frozen D of the post's combined model
            g_loss = loss.generator_loss(critic(generator(z[-1])[None])[..., 0])
            g_opt.zero_grad()
            g_loss.sum().backward()
            g_opt.step()
            for p in discriminator.parameters():
                p.requires_grad_(True)
            g_total += float(g_loss.detach())
        log.epoch_logs["d_loss"].append(d_total / (c.batches_per_epoch * c.n_critic))
        log.epoch_logs["g_loss"].append(g_total / c.batches_per_epoch)
    log.status = "completed"
    return log, generator, discriminator
