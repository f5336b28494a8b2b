"""The keys launchd.plist(5) documents: a generated plist (`sentinel service install`, `sentinel export --format
launchd`) may carry these only."""

from __future__ import annotations

# Every key launchd.plist(5) documents (macOS 14), the only ones a generated plist may carry.
LAUNCHD_KEYS = frozenset({
    "Label", "Disabled", "UserName", "GroupName", "inetdCompatibility", "LimitLoadToHosts",
    "LimitLoadFromHosts", "LimitLoadToSessionType", "LimitLoadToHardware", "LimitLoadFromHardware", "Program",
    "ProgramArguments", "EnableGlobbing", "EnableTransactions", "EnablePressuredExit", "OnDemand", "ServiceIPC",
    "KeepAlive", "RunAtLoad", "RootDirectory", "WorkingDirectory", "EnvironmentVariables", "Umask", "TimeOut",
    "ExitTimeOut", "ThrottleInterval", "InitGroups", "WatchPaths", "QueueDirectories", "StartOnMount",
    "StartInterval", "StartCalendarInterval", "StandardInPath", "StandardOutPath", "StandardErrorPath", "Debug",
    "WaitForDebugger", "SoftResourceLimits", "HardResourceLimits", "Nice", "ProcessType", "AbandonProcessGroup",
    "LowPriorityIO", "LowPriorityBackgroundIO", "MaterializeDatalessFiles", "LaunchOnlyOnce", "MachServices",
    "Sockets", "LaunchEvents", "SessionCreate", "LegacyTimers", "AssociatedBundleIdentifiers",
})
