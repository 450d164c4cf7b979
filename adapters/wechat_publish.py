"""Publishing to a WeChat official account through its publishing API (发布能力):
body images to media/uploadimg, the cover to material/add_material, draft/add, freepublish/submit,
then freepublish/get until the article's URL is known.

The access token is adapters/wechat_api.py's: shared in Redis, one refresh at a time, an expired
token replaced once and the call repeated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.publishing import (
    Image,
    PublishEnv,
    PublishItem,
    PublishResult,
    PublishTarget,
    fetch_image,
    image_sources,
    replace_image_sources,
)
from adapters.wechat_api import WechatApi, WechatApiError

log = logging.getLogger(__name__)

# Errors that say "try again later": system busy (-1) and the per-minute call limit (45011).
TRANSIENT = {-1, 45011}
REASONS = {
    45009: "今日接口调用次数已达上限（45009），本次不再重试：请明天再发布，"
    "或由管理员在公众平台“开发—接口权限”中清零调用次数后重新发布",
    48001: "该公众号没有发布接口的权限（48001），须为已认证的公众号",
    40164: "本系统服务器的 IP 不在公众号的 IP 白名单中（40164），请在公众平台添加后重新发布",
    40013: "公众号 AppID 不正确（40013），请更新账号凭据",
    40125: "公众号 AppSecret 不正确（40125），请更新账号凭据",
    40001: "公众号凭据无效（40001，更换令牌后仍被拒绝），请检查 AppSecret 是否已重置",
    42001: "公众号的访问令牌反复过期（42001），请检查是否有其他系统在同时获取令牌",
    40007: "图片素材无效（40007），请重新发布",
    40005: "图片格式不受微信支持（40005），请使用 JPG 或 PNG 图片",
    40009: "图片过大（40009）：封面须在 10MB 以内，正文图片须在 1MB 以内",
    45001: "图片或正文过大（45001）：正文图片须在 1MB 以内",
    45002: "正文过长（45002），须少于 2 万字",
    45003: "标题过长（45003）",
    45004: "摘要过长（45004）",
    44003: "图文内容为空（44003）",
    50002: "公众号已被限制使用接口（50002），请在公众平台查看原因",
    53503: "该草稿未通过微信的发布检查（53503），请修改后重新发布",
    53504: "微信要求到公众平台官网使用该草稿（53504），请在公众平台手动发表",
    53505: "微信要求在公众平台手动保存该草稿后再发表（53505）",
}
# freepublish/get's publish_status (0 success, 1 publishing).
PUBLISH_FAILED = {
    2: "原创声明失败",
    3: "发布失败（常规失败）",
    4: "未通过微信平台审核",
    5: "发布成功后文章已被删除",
    6: "发布成功后文章已被微信封禁",
}
DIGEST_MAX = 120
WECHAT_IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn")


class _Retry(Exception):
    pass


class _Failed(Exception):
    pass


class _Unsure(Exception):
    """The request may have reached WeChat: whether it took effect is not known."""


def _reason(err: WechatApiError) -> str:
    return REASONS.get(err.errcode) or f"微信接口返回错误 {err.errcode}：{err.errmsg}"


class WechatPublisher:
    platform = "wechat"

    def __init__(self, api: WechatApi, env: PublishEnv, code: str = ""):
        self.api = api
        self.env = env
        self.code = code

    @classmethod
    def for_target(cls, target: PublishTarget, env: PublishEnv) -> WechatPublisher:
        creds = target.credentials
        api = WechatApi(
            base=env.wechat_api_base,
            app_id=str(creds.get("app_id", "")),
            app_secret=str(creds.get("app_secret", "")),
            redis=env.redis,
            client=env.http(),
        )
        return cls(api, env, target.code)

    async def publish(self, item: PublishItem) -> PublishResult:
        try:
            content, first_image = await self._content(item)
            thumb = await self._thumb(item, first_image)
            article = {
                "article_type": "news",
                "title": item.title,
                "author": item.author,
                "digest": item.digest[:DIGEST_MAX],
                "content": content,
                "content_source_url": item.link or item.source_url,
                "thumb_media_id": thumb,
                "need_open_comment": 0,
                "only_fans_can_comment": 0,
            }
            draft = await self._call("/cgi-bin/draft/add", {"articles": [article]})
            media_id = str(draft["media_id"])
        except _Retry as err:
            return PublishResult("retry", reason=str(err), retry_after=self.env.retry_after)
        except _Failed as err:
            return PublishResult("failed", reason=str(err))
        except KeyError as err:
            return PublishResult("failed", reason=f"微信接口的回答缺少 {err}，未能建立草稿")
        try:
            submitted = await self._call(
                "/cgi-bin/freepublish/submit", {"media_id": media_id}, resend=False
            )
        except _Retry as err:
            return PublishResult(
                "retry",
                reason=str(err),
                retry_after=self.env.retry_after,
                detail={"media_id": media_id},
            )
        except _Failed as err:
            return PublishResult("failed", reason=str(err), detail={"media_id": media_id})
        except _Unsure as err:
            return PublishResult("check", reason=str(err), detail={"media_id": media_id})
        if "publish_id" not in submitted:
            reason = "微信接受了发布请求却未给出 publish_id，请到公众平台核实"
            return PublishResult("check", reason=reason, detail={"media_id": media_id})
        return await self.check(str(submitted["publish_id"]), media_id=media_id)

    async def check(self, publish_id: str, *, media_id: str = "") -> PublishResult:
        """Polls freepublish/get a bounded number of times; still under way after that, the
        result is "submitted" with the publish_id to check again later (never resubmit)."""
        detail = {"publish_id": publish_id, "media_id": media_id}
        for attempt in range(self.env.poll_attempts):
            if attempt:
                await asyncio.sleep(self.env.poll_interval)
            try:
                data = await self._call("/cgi-bin/freepublish/get", {"publish_id": publish_id})
            except (_Retry, _Failed, _Unsure) as err:
                log.warning("wechat %s: freepublish/get %s: %s", self.code, publish_id, err)
                continue
            status = int(data.get("publish_status", 1))
            if status == 0:
                items = (data.get("article_detail") or {}).get("item") or []
                url = items[0].get("article_url", "") if items else ""
                return PublishResult(
                    "published",
                    url=url,
                    platform_id=str(data.get("article_id", "")),
                    detail=detail,
                )
            if status in PUBLISH_FAILED:
                failed = data.get("fail_idx") or []
                note = f"（第 {', '.join(map(str, failed))} 篇）" if failed else ""
                return PublishResult(
                    "failed", reason=f"微信：{PUBLISH_FAILED[status]}{note}", detail=detail
                )
        return PublishResult(
            "submitted",
            platform_id=publish_id,
            detail=detail,
            reason="已提交微信发布，微信仍在处理，稍后再查询结果",
            retry_after=max(self.env.poll_interval * self.env.poll_attempts, 60.0),
        )

    async def _content(self, item: PublishItem) -> tuple[str, Image | None]:
        """The body with each image uploaded to WeChat (it drops images hosted elsewhere)."""
        new: dict[str, str] = {}
        first: Image | None = None
        for src in image_sources(item.body_html):
            if urlsplit(src).hostname in WECHAT_IMAGE_HOSTS:
                continue
            image = item.images.get(src) or await self._fetch(src)
            first = first or image
            uploaded = await self._call("/cgi-bin/media/uploadimg", files=_media(image))
            new[src] = str(uploaded["url"])
        return replace_image_sources(item.html_with_source(), new), first

    async def _thumb(self, item: PublishItem, first_image: Image | None) -> str:
        cover = item.cover
        if cover is None and item.cover_url:
            cover = await self._fetch(item.cover_url)
        cover = cover or first_image  # WeChat requires a cover: the first body image serves
        if cover is None:
            raise _Failed("微信图文须有封面图片，请为稿件设置封面")
        added = await self._call(
            "/cgi-bin/material/add_material", params={"type": "image"}, files=_media(cover)
        )
        return str(added["media_id"])

    async def _fetch(self, url: str) -> Image:
        try:
            return await fetch_image(self.env.http(), url)
        except httpx.HTTPStatusError as err:
            raise _Failed(f"图片无法读取（HTTP {err.response.status_code}）：{url}") from err
        except httpx.TransportError as err:
            raise _Retry(f"图片暂时无法读取：{url}") from err
        except ValueError as err:
            raise _Failed(str(err)) from err

    async def _call(
        self,
        path: str,
        payload: dict | None = None,
        *,
        params: dict[str, str] | None = None,
        files: dict | None = None,
        resend: bool = True,
    ) -> dict[str, Any]:
        """One API call, repeated with backoff while WeChat is busy or unreachable. With
        resend=False a request that may have reached WeChat is not sent again (a second
        freepublish/submit could publish twice): that ends as _Unsure."""
        delay = self.env.backoff
        attempts = max(1, self.env.call_attempts)
        for attempt in range(attempts):
            last = attempt + 1 == attempts
            try:
                return await self.api.call(path, payload, params=params, files=files)
            except WechatApiError as err:
                if err.errcode not in TRANSIENT:
                    raise _Failed(_reason(err)) from err
                if last:
                    raise _Retry(f"微信系统繁忙（{err.errcode}），稍后自动重试") from err
            except (httpx.TransportError, ValueError) as err:
                sent = not isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
                if not resend and sent:
                    raise _Unsure(
                        "提交发布时与微信的连接中断，无法确认是否已发布，请到公众平台核实"
                    ) from err
                if last:
                    raise _Retry("暂时无法连接微信接口，稍后自动重试") from err
            log.info("wechat %s: %s busy or unreachable, again in %.1f s", self.code, path, delay)
            await asyncio.sleep(delay)
            delay *= 2
        raise _Retry("微信接口暂不可用")


def _media(image: Image) -> dict[str, tuple[str, bytes, str]]:
    return {"media": (image.name, image.data, image.content_type)}
