"""immunocycle.model"""
