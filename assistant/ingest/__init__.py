"""Reading documents: loaders, French text repair, metadata and chunking."""
