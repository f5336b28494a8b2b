"""Black-box tests of the faults in docs/reliability.md: a real reconciler driven through each one."""
