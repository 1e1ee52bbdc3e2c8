"""Reporting: coverage figures and the monthly / semester / school-year report."""
