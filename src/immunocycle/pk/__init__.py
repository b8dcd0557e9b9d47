"""immunocycle.pk"""
