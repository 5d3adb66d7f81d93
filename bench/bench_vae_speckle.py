"""Pixel space or a learned autoencoder for the small world? Train small `AutoencoderKL`s on the pre-training corpus and
measure what their reconstructions do to speckle statistics of benchmark chips (both sensors), against the lossless
space-to-depth fold. Writes a record (default results/stage1/vae_speckle.json).

    python bench/bench_vae_speckle.py --steps 600 --out results/stage1/vae_speckle.json
"""
import argparse, time
import numpy as np
import torch
from diffusers import AutoencoderKL

from sar_xsensor.core import get_preset, child_seed, make_record, write_json_atomic
from sar_xsensor.simulate import simulate_chips
from sar_xsensor.sensors import display_to_intensity, get_sensor
from sar_xsensor.sarstats import realism_report
from sar_xsensor.foundation import build_corpus
from sar_xsensor.mmdit import SpaceToDepthVAE


def small_vae(latent_channels:int)->AutoencoderKL:
    return AutoencoderKL(in_channels=1, out_channels=1, down_block_types=('DownEncoderBlock2D',)*3, up_block_types=('UpDecoderBlock2D',)*3,
                         block_out_channels=(32, 64, 64), layers_per_block=1, latent_channels=latent_channels, norm_num_groups=16,
                         use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0, scaling_factor=1.0)


def train_vae(vae, train:np.ndarray, steps:int, batch:int, seed:int, kl_weight:float=1e-6)->list:
    "MSE reconstruction + a small KL term (SD's VAE also uses perceptual and GAN terms; there is no SAR LPIPS here)."
    g = torch.Generator().manual_seed(seed); torch.manual_seed(seed)
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3)
    X = torch.from_numpy(train).float()[:, None]/127.5 - 1; losses = []
    for step in range(steps):
        x = X[torch.randint(0, len(X), (batch,), generator=g)]
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample(generator=g)).sample
        loss = torch.nn.functional.mse_loss(rec, x) + kl_weight*post.kl().mean()
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    return losses


@torch.no_grad()
def reconstruct(vae, display:np.ndarray)->np.ndarray:
    x = torch.from_numpy(display).float()[:, None]/127.5 - 1
    r = vae.decode(vae.encode(x).latent_dist.mode()).sample[:, 0]
    return np.round(((r.clamp(-1, 1) + 1)*127.5).numpy()).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--steps', type=int, default=600); ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--corpus', type=int, default=3000); ap.add_argument('--eval', type=int, default=140)
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--out', default='results/stage1/vae_speckle.json')
    a = ap.parse_args()
    torch.set_num_threads(1)
    corpus = build_corpus(a.corpus, seed=child_seed(a.seed, 'vae-corpus'), progress=False)['display']
    bench = get_preset('bench')['benchmark']
    classes = list(bench['source_counts'])*(a.eval//7)
    evalsets = {s: simulate_chips(classes, s, bench['source_footprint_m']*(1 if s == 'tsx_like' else bench['footprint_ratio']),
                                  bench['chip_px'], seed=child_seed(a.seed, 'vae-eval', s))['display']
                for s in (bench['source_sensor'], bench['target_sensor'])}
    results = {}
    variants = {'space_to_depth (exact)': None, 'AutoencoderKL 4 latent ch': 4, 'AutoencoderKL 16 latent ch': 16}
    for name, ch in variants.items():
        t0 = time.perf_counter()
        if ch is None: vae, losses = SpaceToDepthVAE(), []
        else: vae = small_vae(ch); losses = train_vae(vae, corpus, a.steps, a.batch, a.seed)
        res = dict(train_s=time.perf_counter() - t0, final_loss=float(np.mean(losses[-50:])) if losses else 0.0)
        for s, disp in evalsets.items():
            if ch is None: rec = reconstruct_exact(vae, disp)
            else: rec = reconstruct(vae.eval(), disp)
            I, R = display_to_intensity(disp, get_sensor(s)), display_to_intensity(rec, get_sensor(s))
            rep = realism_report(R, I)
            res[s] = dict(enl_original=rep['enl_b'], enl_reconstructed=rep['enl_a'], enl_ratio=rep['enl_ratio'],
                          w1_db=rep['w1_db_all'], raps_distance_db=rep['raps_distance_db'],
                          psnr_db=float(10*np.log10(255**2/np.mean((rec.astype(float) - disp)**2 + 1e-12))))
        results[name] = res; print(name, res, flush=True)
    write_json_atomic(a.out, make_record('vae_speckle', vars(a), results, seed=a.seed))


@torch.no_grad()
def reconstruct_exact(vae, display):
    x = torch.from_numpy(display).float()[:, None]/127.5 - 1
    r = vae.decode(vae.encode(x).latent_dist.mode()).sample[:, 0]
    return np.round(((r + 1)*127.5).numpy()).astype(np.uint8)


if __name__ == '__main__':
    main()
