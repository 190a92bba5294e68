"""Reference data (Guangdong's divisions), the demo data set and data generators."""
