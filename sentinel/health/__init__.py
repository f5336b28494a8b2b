"""Health checks (docs/contract.md#the-config-language `health:`, docs/states.md): probes that do I/O (`checks`) and the
pure state they feed (`tracker`).

The controller runs `checks.run_check` every `health.interval` for each process with a check,
folds each result into a `tracker.HealthState` with `tracker.observe`, and hands the status to
the planner as an observation. Imports no other sentinel layer besides config and states.
"""
