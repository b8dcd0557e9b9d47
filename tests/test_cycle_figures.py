"""Figures: tumor diameter per arm and the cycle diagram, saved as PNG."""

from matplotlib.figure import Figure

from immunocycle.cycle import plot_cycle_diagram, plot_tumor_diameter, simulate_cycle


def test_figures_are_written(tmp_path):
    arms = {"control": simulate_cycle("inflamed", days=28),
            "nivolumab": simulate_cycle("inflamed", ["nivolumab"], days=28)}
    fig = plot_tumor_diameter(arms, tmp_path / "diameter.png")
    assert isinstance(fig, Figure) and (tmp_path / "diameter.png").stat().st_size > 5000
    fig = plot_cycle_diagram(arms["control"].summary(), tmp_path / "cycle.png", title="inflamed")
    assert isinstance(fig, Figure) and (tmp_path / "cycle.png").stat().st_size > 5000
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum("J" in t for t in texts) == 7
