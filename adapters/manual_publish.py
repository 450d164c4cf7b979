"""Platforms without a publishing API for us (Weibo, Douyin, Kuaishou, the others): the
publisher prepares the text to copy, and the item stays unpublished until a staff member
records the URL where it appeared."""

from __future__ import annotations

from adapters.publishing import PublishEnv, PublishItem, PublishResult, PublishTarget, plain_text


def copy_text(item: PublishItem) -> str:
    parts = [item.title, plain_text(item.body_html)]
    if item.source_name:
        parts.append(f"{item.source_line} {item.source_url}".strip())
    if item.link and item.link != item.source_url:
        parts.append(item.link)
    return "\n\n".join(p for p in parts if p)


class ManualPublisher:
    def __init__(self, platform: str, name: str = ""):
        self.platform = platform
        self.name = name

    @classmethod
    def for_target(cls, target: PublishTarget, env: PublishEnv) -> ManualPublisher:
        return cls(target.platform, target.name)

    async def publish(self, item: PublishItem) -> PublishResult:
        where = f"“{self.name}”" if self.name else "该账号"
        return PublishResult(
            "manual",
            copy_text=copy_text(item),
            reason=f"请复制以下内容到{where}手动发布，发布后登记链接；登记前不计为已发布",
        )
