from lectarch.cli import entry

entry()
