"""The zoneout LSTM's hand-written backward pass against autograd's numerical gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from openmaker.algorithms.deepar import network  # noqa: E402


@pytest.mark.parametrize("zoneout", ["none", "draws", "weights"])
def test_backward_matches_numerical_gradients(zoneout):
    torch.manual_seed(0)
    T, B, H = 5, 3, 4
    xi = torch.randn(T, B, 4 * H, dtype=torch.double, requires_grad=True)
    w = torch.randn(4 * H, H, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(B, H, dtype=torch.double, requires_grad=True)
    keep = {
        "none": None,
        "draws": (torch.rand(T, 2, B, H) < 0.3).double(),
        "weights": torch.full((1, 1, 1, 1), 0.1, dtype=torch.double).expand(T, 2, B, H),
    }[zoneout]

    def layer(xi, w, h0, c0):
        return tuple(network._ZoneoutLayer.apply(xi, w, h0, c0, keep))

    assert torch.autograd.gradcheck(layer, (xi, w, h0, c0))


def test_inference_path_equals_the_training_forward():
    torch.manual_seed(1)
    lstm = network.ZoneoutLSTM(7, 5, 2, zoneout=0.1).eval()
    x = torch.randn(4, 9, 7)
    with torch.no_grad():
        fast, state = lstm(x)
    x.requires_grad_(True)
    slow, _ = lstm(x)  # the autograd Function (eval: no zoneout)
    assert torch.allclose(fast, slow, atol=1e-6)
    # one step at a time from the carried state gives the same outputs
    with torch.no_grad():
        first, s = lstm(x[:, :5].detach())
        rest, _ = lstm(x[:, 5:].detach(), s)
    assert torch.allclose(torch.cat([first, rest], 1), fast, atol=1e-6)
    assert len(state) == 2


def test_the_loops_are_compiled():
    assert isinstance(network._FORWARD, torch.jit.ScriptFunction)
    assert isinstance(network._BACKWARD, torch.jit.ScriptFunction)


def test_zoneout_keeps_carried_states_but_outputs_fresh_ones():
    torch.manual_seed(2)
    T, B, H = 6, 2, 3
    xi = torch.randn(T, B, 4 * H)
    w = torch.randn(4 * H, H)
    z = torch.zeros(B, H)
    keep_all = torch.ones(T, 2, B, H)
    out, h, c = network._ZoneoutLayer.apply(xi, w, z, z, keep_all)
    assert torch.equal(h, z) and torch.equal(c, z)  # every state kept: the initial ones
    fresh, _, _ = network._ZoneoutLayer.apply(xi[:1], w, z, z, None)
    assert torch.allclose(out[0], fresh[0])  # the output is the new state all the same
