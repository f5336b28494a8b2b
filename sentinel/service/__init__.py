"""SentinelZero and the operating system's service managers: the reconciler itself installed as a launchd job or a
systemd unit (`sentinel service`), and a config's processes handed to launchd, systemd or Nomad (`sentinel export`).

units.py and plists.py are the one home of writing a systemd unit file and a launchd property list; manager.py holds
the `ServiceManager` interface that launchd.py and systemd.py implement, and what install and uninstall do with any of
them; export/ translates a config into another manager's files. Called by the CLI only (sentinel/cli/service.py,
sentinel/cli/export.py); it drives the init system with its own commands (launchctl, systemctl), never a reconciler.
"""
