"""The unit registry: matching unit names in documents, importing units from CSV/XLSX."""
