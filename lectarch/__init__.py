"""lectarch: the architectures of the lecture, runnable, measurable and inspectable."""

__version__ = "0.1.0"
