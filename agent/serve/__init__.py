"""Long-lived processes over PaperAgent: the warm agent they share, the MCP server, the daemon."""
