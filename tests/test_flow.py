import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from sar_xsensor.flow import euler_sample, sampling_times, interpolate, velocity_target, flow_matching_loss, sample_t


def test_euler_sampler_matches_diffusers_scheduler():
    torch.manual_seed(0)
    net = torch.nn.Conv2d(2, 1, 3, padding=1)
    f = lambda z, ts: net(torch.cat([z, (ts/1000).reshape(-1, 1, 1, 1).expand_as(z)], 1))
    z1 = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    for steps, shift in [(28, 3.0), (7, 1.0)]:
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift); s.set_timesteps(steps)
        z = z1.clone()
        with torch.no_grad():
            for t in s.timesteps: z = s.step(f(z, t.expand(2)), t, z).prev_sample
        assert torch.allclose(sampling_times(steps, shift), s.sigmas, atol=1e-6)
        assert (euler_sample(f, z1, steps, shift) - z).abs().max() <= 1e-5


def test_path_loss_and_time_sampling():
    x0, eps = torch.randn(3, 4), torch.randn(3, 4)
    t = torch.tensor([0.0, 0.5, 1.0])
    z = interpolate(x0, eps, t)
    assert torch.equal(z[0], x0[0]) and torch.equal(z[2], eps[2])
    assert flow_matching_loss(velocity_target(x0, eps), x0, eps, t) == 0
    a = sample_t(8, generator=torch.Generator().manual_seed(3)); b = sample_t(8, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and (a > 0).all() and (a <= 1).all()
