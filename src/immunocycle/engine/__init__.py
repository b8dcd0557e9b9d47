"""The simulation engine: models compiled to numba, a batched stiff solver, reference backends."""

from immunocycle.engine._codegen import CompiledModel, compile_model
from immunocycle.engine._result import SimulationResult
from immunocycle.engine._roadrunner import simulate_roadrunner
from immunocycle.engine._rodas import STATUS_TEXT
from immunocycle.engine._scipy import simulate_scipy
from immunocycle.engine._simulate import SolverOptions, simulate, solver_method

__all__ = ["CompiledModel", "STATUS_TEXT", "SimulationResult", "SolverOptions", "compile_model",
           "simulate", "simulate_roadrunner", "simulate_scipy", "solver_method"]
