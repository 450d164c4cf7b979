"""The interaction knowledge base (互动知识库): entries, curation, the matcher and its bench."""
