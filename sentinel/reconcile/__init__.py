"""The planner and its value types: pure, no I/O and no clock (DESIGN §3, STYLE rule 1)."""
