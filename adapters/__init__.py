"""Everything that speaks a platform's protocol: WeChat, Telegram, the web chat."""
