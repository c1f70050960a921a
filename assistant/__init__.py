"""Assistant PVD: cited answers over the documents of Petites villes de demain in Savoie."""

__version__ = "0.1.0"
