"""Check the RDP accountant against published DP-SGD tables and direct integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from nemecys.mlaudit.accounting import (
    DEFAULT_ORDERS,
    epsilon,
    noise_multiplier_for_epsilon,
    privacy_spent,
    rdp_sampled_gaussian,
    rdp_to_epsilon,
)

MNIST_SIZE = 60_000


@pytest.mark.parametrize(
    ("noise", "batch", "epochs", "published"),
    [
        # tensorflow/privacy tutorials/README.md at commit d435fcb: MNIST (60,000), batch 256,
        # delta 1e-5, RDP accountant; also its "current epsilon" after 1 and 2 epochs.
        (1.1, 256, 60, 3.01),
        (1.3, 256, 15, 1.19),
        (0.7, 256, 45, 7.10),
        (1.1, 256, 1, 1.03),
        (1.1, 256, 2, 1.11),
        # The same file at commit 047e1ee, an earlier parameter table.
        (1.12, 256, 60, 2.92),
        (0.6, 256, 30, 9.74),
        (1.2, 256, 10, 1.20),
        # pytorch/opacus examples/mnist_README.md at commit eb4e69a: sample rate 0.004
        # (batch 240 of 60,000), delta 1e-5.
        (1.1, 240, 60, 2.91),
        (1.3, 240, 15, 1.16),
        (0.7, 240, 45, 6.86),
    ],
)
def test_epsilon_matches_published_mnist(
    noise: float, batch: int, epochs: int, published: float
) -> None:
    steps = epochs * MNIST_SIZE // batch

    value = epsilon(noise, batch / MNIST_SIZE, steps, 1e-5)

    assert value == pytest.approx(published, abs=0.02)


def test_epsilon_mnist_noise_1_1_is_about_3() -> None:
    value = epsilon(1.1, 256 / MNIST_SIZE, 60 * MNIST_SIZE // 256, 1e-5)

    assert abs(value - 3.0) <= 0.1


def test_balle_conversion_is_tighter() -> None:
    # Google's dp-accounting 0.6.0, which uses the same conversion, gave 2.5966 at order 8.1
    # for this setting (run by hand, not in the tests: the package is not a dependency).
    sample_rate = 256 / MNIST_SIZE
    steps = 60 * MNIST_SIZE // 256

    classic = privacy_spent(1.1, sample_rate, steps, 1e-5)
    tighter = privacy_spent(1.1, sample_rate, steps, 1e-5, conversion="balle2020")

    assert tighter.epsilon < classic.epsilon
    assert tighter.epsilon == pytest.approx(2.5966, abs=0.001)
    assert tighter.order == pytest.approx(8.1)


def _rdp_by_quadrature(noise: float, sample_rate: float, order: float) -> float:
    """Integrate E_{z~N(0,σ²)}[((1-q) + q·exp((2z-1)/(2σ²)))^α] numerically."""

    def integrand(z: float) -> float:
        log_ratio = np.logaddexp(
            math.log1p(-sample_rate),
            math.log(sample_rate) + (2.0 * z - 1.0) / (2.0 * noise**2),
        )
        return math.exp(float(stats.norm.logpdf(z, scale=noise)) + order * float(log_ratio))

    split = noise**2 * math.log(1.0 / sample_rate - 1.0) + 0.5
    left, _ = integrate.quad(integrand, -math.inf, split, epsabs=0, epsrel=1e-12, limit=200)
    right, _ = integrate.quad(integrand, split, math.inf, epsabs=0, epsrel=1e-12, limit=200)
    return math.log(left + right) / (order - 1.0)


@pytest.mark.parametrize(
    ("noise", "sample_rate"), [(1.1, 0.004), (0.7, 0.01), (2.0, 0.2), (0.5, 0.1)]
)
@pytest.mark.parametrize("order", [1.1, 1.5, 2.0, 2.5, 3.7, 8.0])
def test_rdp_matches_quadrature(noise: float, sample_rate: float, order: float) -> None:
    value = float(rdp_sampled_gaussian(noise, sample_rate, [order])[0])

    assert value == pytest.approx(_rdp_by_quadrature(noise, sample_rate, order), rel=1e-6)


def test_rdp_grows_with_order() -> None:
    values = rdp_sampled_gaussian(1.0, 0.02, DEFAULT_ORDERS)

    assert np.all(np.diff(values) >= -1e-15)


def test_rdp_fractional_and_integer_paths_meet() -> None:
    # Order 3 uses the finite sum; 3 ± 1e-9 use the two-sided series.
    below, exact, above = rdp_sampled_gaussian(0.9, 0.05, [3.0 - 1e-9, 3.0, 3.0 + 1e-9])

    assert below == pytest.approx(exact, rel=1e-6)
    assert above == pytest.approx(exact, rel=1e-6)


def test_rdp_full_batch_is_gaussian() -> None:
    orders = [1.5, 2.0, 10.0]

    values = rdp_sampled_gaussian(2.0, 1.0, orders)

    assert np.allclose(values, np.array(orders) / (2.0 * 2.0**2))


def test_rdp_edge_cases() -> None:
    assert np.all(rdp_sampled_gaussian(1.0, 0.0, [2.0, 5.5]) == 0.0)
    assert np.all(np.isinf(rdp_sampled_gaussian(0.0, 0.1, [2.0, 5.5])))
    assert epsilon(1.0, 0.01, 0, 1e-5) == 0.0


def test_epsilon_monotone_in_noise_and_steps() -> None:
    base = epsilon(1.0, 0.01, 1000, 1e-5)

    assert epsilon(1.5, 0.01, 1000, 1e-5) < base
    assert epsilon(1.0, 0.01, 2000, 1e-5) > base
    assert epsilon(1.0, 0.02, 1000, 1e-5) > base
    assert epsilon(1.0, 0.01, 1000, 1e-7) > base


def test_noise_for_target_epsilon_round_trip() -> None:
    sample_rate = 256 / MNIST_SIZE
    steps = 60 * MNIST_SIZE // 256

    noise = noise_multiplier_for_epsilon(3.0, sample_rate, steps, 1e-5)

    assert epsilon(noise, sample_rate, steps, 1e-5) <= 3.0
    assert noise == pytest.approx(1.1, abs=0.02)
    assert epsilon(noise - 0.01, sample_rate, steps, 1e-5) > 3.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: epsilon(1.0, 1.5, 10, 1e-5), "sample_rate"),
        (lambda: epsilon(-1.0, 0.1, 10, 1e-5), "noise_multiplier"),
        (lambda: epsilon(1.0, 0.1, -1, 1e-5), "steps"),
        (lambda: epsilon(1.0, 0.1, 10, 0.0), "delta"),
        (lambda: rdp_sampled_gaussian(1.0, 0.1, [1.0]), "orders"),
        (lambda: rdp_to_epsilon(np.zeros(2), [2.0], 1e-5), "do not match"),
        (lambda: noise_multiplier_for_epsilon(0.0, 0.1, 10, 1e-5), "target_epsilon"),
    ],
)
def test_accounting_rejects_invalid_input(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message):
        call()
