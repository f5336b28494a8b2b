"""The planner and its value types: pure, no I/O and no clock (docs/contract.md#reconcile-semantics,
docs/conventions.md#plan-then-execute)."""
