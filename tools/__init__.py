"""Developer tools: contract generation and the lint runner."""
