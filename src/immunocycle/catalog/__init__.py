"""immunocycle.catalog"""
