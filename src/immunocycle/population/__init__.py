"""immunocycle.population"""
