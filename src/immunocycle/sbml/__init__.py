"""immunocycle.sbml"""
