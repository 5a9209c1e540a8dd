"""Downstream heads on the fused pose representation: mesh recovery (HPS) and instructions."""
