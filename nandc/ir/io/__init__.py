"""Netlist file formats: AIGER (ASCII and binary), BLIF, and a readable text dump."""
