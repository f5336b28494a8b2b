"""The OS boundary: spawning, exit detection, output capture, signals and resource sampling.

The controller uses `sentinel.runtime.manager.Runtime`; the other modules are its parts. The
runtime executes, it never decides (docs/conventions.md#plan-then-execute).
"""
