"""Exploring memory: what a process has mapped, how much memory a process
tree really holds, what the machine allows, and their HTML display in
Jupyter."""

from .maps import MapEntry, maps
from .memory_report import MemoryReport, ProcessMemory, memory_report
from .system_info import SystemInfo, info

__all__ = [
    "MapEntry",
    "MemoryReport",
    "ProcessMemory",
    "SystemInfo",
    "info",
    "maps",
    "memory_report",
]
