"""The reconciler: the loop that observes, plans and executes, and the daemon around it."""
