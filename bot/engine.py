"""The dialogue: a citizen's message in, the bot's replies out.

`Engine.handle` loads the conversation, answers from the knowledge base, offers suggestions or a
letter, walks the citizen through leaving one, and shows a letter's status. It returns replies and
never sends them; every question and decision is logged for the knowledge base's attention
figures, without contact details.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace

from bot import intents, texts
from bot.letters_port import (
    LETTER_KINDS,
    account_id,
    guess_kind,
    letter_status,
    submit_letter,
    take_pending_replies,
    waiting_key,
)
from bot.state import (
    Conversation,
    dump_conversation,
    last_seen_key,
    parse_conversation,
    state_key,
    to_json,
)
from bot.types import Choice, Claim, ClaimRefused, IncomingMessage, Reply
from infra.deps import Deps
from infra.notify import mask_mobile
from infra.redis import ScriptBatch
from knowledge import offers
from knowledge.attention import ASK_QUEUE, ask_event, feedback_event, letter_event
from knowledge.excerpts import excerpt
from knowledge.focus import as_follow_up, asks_nothing, leans_on, names_no_matter
from knowledge.live import KnowledgeIndex, knowledge_index
from knowledge.normalize import normalize
from letters.codes import format_code
from letters.intake import latest_letter_of
from letters.lookups import allow_status_lookup

log = logging.getLogger(__name__)

MOBILE = re.compile(r"^1[3-9]\d{9}$")
STATUS_QUERY = re.compile(r"^(?:查询|查看|进度|/status)\s*[:：]?\s*([A-Za-z0-9-]{4,20})?$")
NUMBER = re.compile(r"^\d{1,2}$")
CONFIRM_WORDS = {"1", "提交", "确认"}
OFFER_ANSWERS = {"1", "2", *texts.ACCEPT_WORDS, *texts.CANCEL_WORDS, *texts.DECLINE_WORDS}
# A message, and a letter's content, as long as a letter may be (letters.intake); the matcher
# reads the first MATCHED_CHARS of a question (knowledge.focus finds it in a long one).
MAX_MESSAGE = 5000
MATCHED_CHARS = 1000
SHOWN_CHARS = 300  # of a long letter's content, echoed back while it is written
# Steps at which a question is on the table: "留言" there makes it the letter's content.
QUESTION_STEPS = {"feedback", "choose", "related", "offer"}


def _shown(content: str) -> str:
    """A letter's content as echoed to its writer: whole, or its start and its length when long
    (a platform cuts a long reply, and the choices after it would be lost)."""
    if len(content) <= SHOWN_CHARS:
        return content
    return f"{content[:SHOWN_CHARS]}……（共{len(content)}字）"


def _word(text: str) -> str:
    return re.sub(r"[\s。.!！,，]+", "", text).lower()


# A platform's replay claim (bot.types.Claim): whether the delivery is refused. ``value`` is
# "token:now"; a retry is the same token within ``window`` seconds of the first.
REFUSED = """
local function refused(key, value, ttl, now, window)
  if redis.call('SET', key, value, 'NX', 'EX', ttl) then return false end
  local seen = redis.call('GET', key) or ''
  local sep = string.find(seen, ':', 1, true)
  local first = sep and string.sub(seen, 1, sep - 1) or seen
  local at = sep and tonumber(string.sub(seen, sep + 1)) or 0
  local token = string.sub(value, 1, string.find(value, ':', 1, true) - 1)
  return first ~= token or tonumber(now) - (at or 0) > tonumber(window)
end
"""
# KEYS: the claim's key.  ARGV: value, ttl, now, window.  Returns 1 when refused.
CLAIM = (
    REFUSED + "if refused(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 1 end return 0"
)
# Everything the engine needs from Redis in one round trip before the dialogue, and everything
# it keeps in one round trip after (DESIGN.md, "A message's way through").
# KEYS: done, rate, state, waiting, last, [the claim's key].  ARGV: claim (1 when the message
# has an id), done ttl, last ttl, [the claim's value, ttl, now, window]. Returns {claimed,
# count, earlier replies, state, waiting}; {-1} when the platform's claim is refused.
OPEN_TURN = (
    REFUSED
    + """
if #KEYS > 5 and refused(KEYS[6], ARGV[4], ARGV[5], ARGV[6], ARGV[7]) then return {-1} end
if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '', 'NX', 'EX', ARGV[2]) then
  return {0, 0, redis.call('GET', KEYS[1]), false, 0}
end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('EXPIRE', KEYS[2], 60) end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[3])
return {1, count, false, redis.call('GET', KEYS[3]), redis.call('EXISTS', KEYS[4])}
"""
)
# KEYS: state, done, question log.  ARGV: state, state ttl, replies ('' for none), done ttl,
# then the question log's events.
CLOSE_TURN = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
if #ARGV > 4 then redis.call('RPUSH', KEYS[3], unpack(ARGV, 5)) end
return 1
"""
DONE_SECONDS = 300  # WeChat retries within 15 s, a web page within a minute
RETRY_WAIT = 4.5  # how long a retry waits for the first delivery's replies
LAST_SEEN_SECONDS = 48 * 3600  # WeChat's customer-service window


@dataclass
class Turn:
    """What one message got: its replies, and whether this delivery was the first (a retry
    gets the first delivery's replies, or none while the first is still being answered)."""

    replies: list[Reply]
    first: bool = True


class Engine:
    def __init__(self, deps: Deps):
        self.deps = deps
        self._open = deps.redis.register_script(OPEN_TURN)
        self._close = deps.redis.register_script(CLOSE_TURN)
        self._claim = deps.redis.register_script(CLAIM)
        self._redis = ScriptBatch(deps.redis)

    async def handle(self, msg: IncomingMessage) -> list[Reply]:
        return (await self.handle_turn(msg)).replies

    async def claim(self, claim: Claim) -> None:
        """Take a platform's replay claim for a delivery that opens no turn; raises
        ClaimRefused for a replay."""
        if await self._redis.call(self._claim, [claim.key], _claim_args(claim)):
            raise ClaimRefused(claim.key)

    async def handle_turn(self, msg: IncomingMessage, claim: Claim | None = None) -> Turn:
        """One delivery's turn. With a ``claim`` (a platform's replay protection) the turn opens
        only if the claim is granted, in the same round trip; else ClaimRefused."""
        s = self.deps.settings
        who = f"{msg.channel}:{msg.account}:{msg.user}"
        key = state_key(msg.channel, msg.account, msg.user)
        # One delivery of a message is answered; its retries (WeChat sends up to three, a web
        # page after a network error) get the same replies, and the conversation moves once.
        done_key = f"bot:done:{who}:{msg.message_id}"[:250] if msg.message_id else "bot:done:-"
        keys = [
            done_key,
            f"rl:bot:rate:{who}",
            key,
            waiting_key(msg.channel, msg.account, msg.user),
            last_seen_key(msg.channel, msg.account, msg.user),
        ]
        args: list = [1 if msg.message_id else 0, DONE_SECONDS, LAST_SEEN_SECONDS]
        if claim is not None:
            keys.append(claim.key)
            args += _claim_args(claim)
        opened = await self._redis.call(self._open, keys, args)
        if opened[0] == -1:
            raise ClaimRefused(claim.key if claim else "")
        claimed, count, earlier, state, waiting = opened
        if not claimed:
            return Turn(await self._earlier(done_key, earlier), first=False)
        try:
            events: list[str] = []
            if int(count) > s.bot_rate_per_minute:
                replies, conv = [Reply(texts.SLOW_DOWN)], parse_conversation(state)
            else:
                replies, conv = await self._reply(msg, state, waiting, events)
            done = to_json([r.as_dict() for r in replies])
            await self._redis.call(
                self._close,
                [key, done_key, ASK_QUEUE],
                [
                    dump_conversation(conv),
                    s.bot_state_minutes * 60,
                    done if msg.message_id else "",
                    DONE_SECONDS,
                    *events,
                ],
            )
        except BaseException:
            if msg.message_id:  # let a retry answer it afresh
                await self.deps.redis.delete(done_key)
            raise
        return Turn(replies)

    async def _reply(self, msg: IncomingMessage, state, waiting, events: list[str]):
        conv = parse_conversation(state)
        replies = []
        if waiting:
            replies = [
                Reply(texts.PENDING_REPLY.format(code=code, reply=reply))
                for code, reply in await take_pending_replies(
                    self.deps, msg.channel, msg.account, msg.user
                )
            ]
        if state is None and (earlier := await self._lost_confirmation(msg)):
            return replies + earlier, conv
        replies += await self._dispatch(msg, conv, events)
        return replies, conv

    async def _lost_confirmation(self, msg: IncomingMessage) -> list[Reply]:
        """A letter's confirmation sent again after Redis lost the conversation (and the first
        delivery's answer) while the letter was being committed: the letter is in the database
        but its writer never saw the code, and without this the retried "1" would be taken for
        a question and the citizen would write the letter a second time. Only for a delivery
        with a platform message id, in a conversation Redis has no record of at all (a
        finished one keeps its idle state for ``bot_state_minutes``)."""
        if not msg.message_id or _word(msg.text) not in CONFIRM_WORDS:
            return []
        letter = await latest_letter_of(
            self.deps,
            channel=msg.channel,
            account_id=await account_id(self.deps, msg.account),
            user=msg.user,
            seconds=DONE_SECONDS,
        )
        if letter is None:
            return []
        return [Reply(texts.LETTER_DONE_EARLIER.format(code=format_code(letter.code)))]

    async def _earlier(self, done_key: str, value) -> list[Reply]:
        """The first delivery's replies, waiting a little while it is still being answered."""
        loop = asyncio.get_running_loop()
        until = loop.time() + RETRY_WAIT
        while not value and loop.time() < until:
            await asyncio.sleep(0.05)
            value = await self.deps.redis.get(done_key)
        return [Reply.from_dict(r) for r in json.loads(value)] if value else []

    async def _dispatch(
        self, msg: IncomingMessage, conv: Conversation, events: list[str]
    ) -> list[Reply]:
        if msg.unsupported:
            return [Reply(texts.UNSUPPORTED.format(what=msg.unsupported))]
        if msg.action:
            return await self._action(msg, conv)
        text = msg.text.strip()
        if not text:
            return [Reply(texts.EMPTY)]
        if len(text) > MAX_MESSAGE:  # nothing of it kept: the citizen is told, and sends less
            return [Reply(texts.TOO_LONG.format(n=len(text), max=MAX_MESSAGE))]
        word = _word(text)
        status = STATUS_QUERY.match(text.strip())
        if status:
            conv.reset()
            if status.group(1):
                return [await self._status(msg, status.group(1))]
            conv.step = "status_code"
            return [Reply(texts.STATUS_ASK_CODE)]
        if word in texts.HELP_WORDS:
            conv.reset()
            return [Reply(texts.HELP)]
        naming_kind = conv.step == "letter_kind" and word in LETTER_KINDS.values()  # 投诉
        if (word in texts.HUMAN_WORDS or word in texts.LETTER_WORDS) and not naming_kind:
            question = conv.question if conv.step in QUESTION_STEPS else ""
            return self._start_letter(conv, question, human=word in texts.HUMAN_WORDS)
        step = conv.step
        if step == "submitted" and word in CONFIRM_WORDS:
            # "1" again after the letter went in (a second tap once the first was answered):
            # the letter, not a question "1".
            return [Reply(texts.LETTER_DONE_EARLIER.format(code=conv.letter_code))]
        if step.startswith("letter_"):
            return await self._letter_step(msg, conv, text, word, events)
        if step == "status_code":
            conv.reset()
            if re.fullmatch(r"[A-Za-z0-9-]{4,20}", text):
                return [await self._status(msg, text)]
            if word in texts.NO_CODE_WORDS:
                return [Reply(texts.STATUS_FORGOT_CODE)]
        if step == "feedback" and word in texts.FULL_WORDS and conv.entry:
            live = knowledge_index(self.deps).live(conv.entry)
            if live:  # the whole answer, after its excerpt
                return self._answer(live)
        if step == "feedback":
            said = intents.plain(text)  # 还是没明白啊？ as 还是没明白
            if said in texts.YES_WORDS or said in texts.NO_WORDS:
                return self._feedback(conv, events, helpful=said in texts.YES_WORDS)
        if step in {"choose", "related"} and (NUMBER.match(word) or word in texts.NONE_WORDS):
            return await self._choose(msg, conv, word, events)
        if step in {"choose", "related", "feedback"} and (
            word in texts.CANCEL_WORDS or word in texts.DECLINE_WORDS
        ):
            # "不用了" to the suggestions or to an answer ends it; it is not a new question
            conv.reset()
            return [Reply(texts.OK_NO_LETTER)]
        if step == "offer" and word in OFFER_ANSWERS:
            if word == "1" or word in texts.ACCEPT_WORDS:
                return self._start_letter(conv, conv.question)
            conv.reset()
            return [Reply(texts.OK_NO_LETTER)]
        if MOBILE.match(word):  # not a question, and kept out of the question log
            return [Reply(texts.MOBILE_NOT_NOW)]
        if NUMBER.match(word) and step in {"idle", "submitted", "which"}:  # nothing to pick
            return [Reply(texts.NO_CHOICE)]
        if NUMBER.match(word) and step in {"feedback", "offer"}:  # 3 to a choice of 1 and 2
            return [Reply(texts.ONE_OR_TWO)]
        if word in texts.CANCEL_WORDS:  # nothing left to cancel: not a question either
            conv.reset()
            return [Reply(texts.OK_NO_LETTER)]
        if asked := intents.read(text):
            if step == "feedback" and asked[0] == "thanks":  # 👍 or 好的谢谢你 to an answer
                return self._feedback(conv, events, helpful=True)
            return await self._request(msg, conv, *asked)
        return await self._question(msg, conv, text, events)

    async def _request(
        self, msg: IncomingMessage, conv: Conversation, kind: str, code: str | None
    ) -> list[Reply]:
        """Small talk or a request in the citizen's own words (bot.intents): the welcome, a
        short 不客气, a letter's progress, where the tracking code is, a letter or a person (a
        letter, as 人工 has always been)."""
        if kind == "greeting":
            conv.reset()
            return [Reply(texts.WELCOME.format(name=await self._account_name(msg)))]
        if kind == "thanks":
            conv.reset()
            return [Reply(texts.YOU_ARE_WELCOME)]
        if kind == "empty":  # ？？？ or 😂: the bot keeps what it asked, and asks for words
            return [Reply(texts.EMPTY)]
        if kind == "status":
            conv.reset()
            if code:
                return [await self._status(msg, code)]
            conv.step = "status_code"
            return [Reply(texts.STATUS_ASK_CODE)]
        if kind == "forgot_code":
            conv.reset()
            return [Reply(texts.STATUS_FORGOT_CODE)]
        return self._start_letter(
            conv, conv.question if conv.step in QUESTION_STEPS else "", human=kind == "human"
        )

    async def _action(self, msg: IncomingMessage, conv: Conversation) -> list[Reply]:
        conv.reset()
        if msg.action == "welcome":
            name = await self._account_name(msg)
            return [Reply(texts.WELCOME.format(name=name))]
        if msg.action == "status":
            conv.step = "status_code"
            return [Reply(texts.STATUS_ASK_CODE)]
        if msg.action in {"letter", "human"}:
            return self._start_letter(conv, "")
        return [Reply(texts.HELP)]

    async def _account_name(self, msg: IncomingMessage) -> str:
        from accounts.models import Account

        if msg.account:
            account = await Account.get_or_none(code=msg.account)
            if account:
                return account.name
        return "政务"

    # Questions and the knowledge base

    async def _question(
        self, msg: IncomingMessage, conv: Conversation, text: str, events: list[str]
    ) -> list[Reply]:
        index = knowledge_index(self.deps)
        before = conv.about
        # 社保卡补办 in reply to which matter 要带什么材料 was about: 社保卡补办要带什么材料
        aspect = conv.question if conv.step == "which" else None
        decision, joined = await index.decide_turn(text[:MATCHED_CHARS], conv.about, aspect)
        if decision.decision == "none" and names_no_matter(text):
            # 要带什么材料 with nothing asked before it: not a question the knowledge base lacks
            conv.reset()
            conv.step, conv.question = "which", text
            return [Reply(texts.WHICH_MATTER)]
        text = joined or text
        leaned = conv.about if conv.about and not joined and leans_on(text, conv.about) else None
        conv.about = index.matter_after(decision, text, leaned)
        # what was asked, for the log and a letter: 要多久 alone would tell staff nothing
        asked = as_follow_up(leaned, text) if leaned else text
        # Never offered: an entry the matcher scored zero (knowledge.offers).
        suggestions = offers.suggestions(decision)
        # 多少钱 about the answer just given: the sentences of it that say it
        again = self._said_again(index, decision, suggestions, before if leaned else None, text)
        entry = again[0] if again else decision.entry
        ref, event = ask_event(
            text=asked,
            channel=msg.channel,
            account_id=await account_id(self.deps, msg.account),
            decision="answer" if again else decision.decision,
            entry_id=int(entry) if entry else None,
            score=decision.score,
            suggestions=suggestions,
            clock=self.deps.clock,
        )
        events.append(event)
        conv.reset()
        conv.question = asked
        conv.ask_ref = ref
        if again:
            conv.step, conv.entry = "feedback", entry
            return self._answer(again[1], asked=text, part=again[2])
        if decision.decision == "answer" and decision.entry:
            live = index.live(decision.entry)
            if live:
                conv.step = "feedback"
                conv.entry = decision.entry
                return self._answer(live)
        if decision.decision in {"answer", "suggest"}:
            choices = self._numbered(conv, index, suggestions)
            if choices:
                conv.step = "choose"
                choices.append(Choice("0", texts.SUGGEST_NONE_LABEL))
                return [Reply(texts.SUGGEST, choices=tuple(choices))]
        choices = self._numbered(conv, index, offers.related(decision))
        if choices:
            # Numbers pick a related question; 0 (or 留言) leaves a letter, 不用了 declines.
            conv.step = "related"
            return [
                Reply(texts.RELATED, choices=tuple(choices)),
                Reply(texts.RELATED_OFFER, choices=_choices(texts.RELATED_OFFER_CHOICES)),
            ]
        conv.step = "offer"
        # A message that asks nothing reports something (knowledge.focus), as does 我要举报 …:
        # a letter's matter
        reported = asks_nothing(text) or intents.reports(text)
        intro = texts.REPORT_OFFER if reported else texts.CANNOT_ANSWER
        return [Reply(intro, choices=_choices(texts.OFFER_CHOICES))]

    def _numbered(
        self, conv: Conversation, index: KnowledgeIndex, entry_ids: list[str]
    ) -> list[Choice]:
        """Numbered choices for the live ones of ``entry_ids``, remembered for the pick."""
        choices: list[Choice] = []
        for entry_id in entry_ids[: offers.MAX_OFFERED]:
            live = index.live(entry_id)
            if live:
                conv.suggestions.append(entry_id)
                choices.append(Choice(str(len(choices) + 1), live["question"]))
        return choices

    @staticmethod
    def _said_again(
        index: KnowledgeIndex, decision, suggestions: list[str], before: str | None, text: str
    ) -> tuple[str, dict, str] | None:
        """For a follow-up (``text``, leaning on ``before``) decided as the entry just answered
        (answered again, or offered alone: 您是不是想问 the answer the citizen has read), that
        entry, its live version and the sentences of its answer that say what ``text`` asks
        (knowledge.excerpts); None when it was decided otherwise or no sentence says it."""
        if before is None:
            return None
        if decision.decision == "answer":
            entry = decision.entry
        elif decision.decision == "suggest" and len(suggestions) == 1:
            entry = suggestions[0]
        else:
            return None
        live = index.live(entry) if entry else None
        if not live or live.get("question") != before:
            return None
        part = excerpt(live.get("answer", ""), text)
        return (entry, live, part) if part else None

    def _answer(self, live: dict, asked: str = "", part: str = "") -> list[Reply]:
        """The entry's answer under its question; or ``part`` of it, what ``asked`` asks."""
        question = live.get("question", "")
        text = (
            texts.EXCERPT.format(question=question, asked=asked, part=part)
            if part
            else f"【{question}】\n{live.get('answer', '')}"
        )
        return [
            Reply(text),
            Reply(texts.ASK_FEEDBACK, choices=_choices(texts.FEEDBACK_CHOICES)),
        ]

    async def _choose(
        self, msg: IncomingMessage, conv: Conversation, word: str, events: list[str]
    ) -> list[Reply]:
        if not NUMBER.match(word) or word == "0":
            return self._start_letter(conv, conv.question)
        pick = int(word) - 1
        if not 0 <= pick < len(conv.suggestions):
            n = len(conv.suggestions)
            again = texts.CHOOSE_AGAIN.format(n=n) if n > 1 else texts.CHOOSE_THE_ONE
            return [Reply(again)]
        entry_id = conv.suggestions[pick]
        live = knowledge_index(self.deps).live(entry_id)
        if not live:
            return self._start_letter(conv, conv.question)
        ref, event = ask_event(
            text=conv.question,
            channel=msg.channel,
            account_id=await account_id(self.deps, msg.account),
            decision="answer",
            entry_id=int(entry_id),
            score=1.0,
            suggestions=[],
            clock=self.deps.clock,
        )
        events.append(event)
        conv.step, conv.entry, conv.ask_ref, conv.suggestions = "feedback", entry_id, ref, []
        conv.about = live["question"]
        return self._answer(live)

    def _feedback(self, conv: Conversation, events: list[str], *, helpful: bool) -> list[Reply]:
        if conv.ask_ref:
            events.append(feedback_event(conv.ask_ref, helpful=helpful))
        if helpful:
            conv.reset()
            conv.unsolved = 0
            return [Reply(texts.THANKS)]
        conv.unsolved += 1
        if conv.unsolved >= 2:
            return [Reply(texts.STILL_UNSOLVED), *self._start_letter(conv, conv.question)]
        question = conv.question
        conv.reset()
        conv.question = question
        conv.step = "offer"
        return [Reply(texts.SORRY_TRY_AGAIN, choices=_choices(texts.OFFER_CHOICES))]

    # Leaving a letter

    def _start_letter(
        self, conv: Conversation, question: str, *, human: bool = False
    ) -> list[Reply]:
        """human: the citizen asked for a person, whom a letter reaches (no one chats live)."""
        replies = self._letter_opening(conv, question)
        if human:
            replies[0] = replace(replies[0], text=f"{texts.NO_LIVE_AGENT}\n{replies[0].text}")
        return replies

    def _letter_opening(self, conv: Conversation, question: str) -> list[Reply]:
        unsolved, ask = conv.unsolved, conv.ask_ref
        conv.reset()
        conv.unsolved = unsolved
        # One id per letter being written: without a platform message id (an API client), the
        # confirmation's retry still finds this letter, and the next letter is a new one.
        conv.draft = {"content": question, "started": uuid.uuid4().hex}
        if question and ask:
            conv.draft["ask"] = ask  # the logged question the letter takes up
        if question:
            conv.step = "letter_more"
            return [Reply(texts.LETTER_MORE.format(content=_shown(question)))]
        conv.step = "letter_content"
        return [Reply(texts.LETTER_CONTENT)]

    async def _letter_step(
        self, msg: IncomingMessage, conv: Conversation, text: str, word: str, events: list[str]
    ) -> list[Reply]:
        draft, step = conv.draft, conv.step
        if word in texts.CANCEL_WORDS and step != "letter_mobile":
            conv.reset()
            return [Reply(texts.LETTER_CANCELLED)]
        if step == "letter_content":
            if len(normalize(text)) < 5:
                asked = intents.read(text)
                if asked and asked[0] in ("status", "forgot_code"):  # changed their mind
                    return await self._request(msg, conv, *asked)
                return [Reply(texts.LETTER_TOO_SHORT)]
            draft["content"] = text
            conv.step = "letter_more"
            return [Reply(texts.LETTER_MORE.format(content=_shown(text)))]
        if step == "letter_more":
            if word not in {"1", "没有", "完整", "继续", "好", "好的", "没了"}:
                content = f"{draft.get('content', '')}\n{text}".strip()
                if len(content) > MAX_MESSAGE:  # never cut silently: the citizen is told
                    return [Reply(texts.LETTER_FULL.format(max=MAX_MESSAGE))]
                draft["content"] = content
                return [Reply(texts.LETTER_MORE_ADDED)]
            if len(normalize(draft.get("content", ""))) < 5:
                conv.step = "letter_content"
                return [Reply(texts.LETTER_TOO_SHORT)]
            draft["kind_options"] = _kind_options(guess_kind(draft["content"]))
            conv.step = "letter_kind"
            return [self._kind_reply(draft)]
        if step == "letter_kind":
            options = draft.get("kind_options") or _kind_options("consultation")
            named = [i for i, k in enumerate(options, 1) if LETTER_KINDS[k] == word]  # 投诉
            if named:
                word = str(named[0])
            if not NUMBER.match(word) or not 1 <= int(word) <= len(options):
                return [self._kind_reply(draft, again=True)]
            draft["kind"] = options[int(word) - 1]
            conv.step = "letter_name"
            return [Reply(texts.LETTER_PRIVACY)]
        if step == "letter_name":
            draft["name"] = "" if word in texts.SKIP_WORDS else text[:30]
            conv.step = "letter_mobile"
            return [Reply(texts.LETTER_MOBILE)]
        if step == "letter_mobile":
            if word in texts.SKIP_WORDS:
                draft["mobile"] = ""
            elif MOBILE.match(word):
                draft["mobile"] = word
            else:
                return [Reply(texts.LETTER_BAD_MOBILE)]
            conv.step = "letter_confirm"
            return [self._confirm_reply(draft)]
        if step == "letter_confirm":
            if word in CONFIRM_WORDS:
                return await self._submit(msg, conv, events)
            if word in {"2", "修改", "重新填写"}:
                conv.step = "letter_content"
                return [Reply(texts.LETTER_CONTENT)]
            if word == "3":
                conv.reset()
                return [Reply(texts.LETTER_CANCELLED)]
            return [self._confirm_reply(draft)]
        conv.reset()
        return [Reply(texts.HELP)]

    def _kind_reply(self, draft: dict, *, again: bool = False) -> Reply:
        options = draft.get("kind_options") or _kind_options("consultation")
        return Reply(
            texts.LETTER_KIND_AGAIN.format(n=len(options)) if again else texts.LETTER_KIND,
            choices=tuple(Choice(str(i), LETTER_KINDS[k]) for i, k in enumerate(options, 1)),
        )

    def _confirm_reply(self, draft: dict) -> Reply:
        mobile = draft.get("mobile") or ""
        masked = mask_mobile(mobile) if mobile else texts.NOT_PROVIDED
        text = texts.LETTER_CONFIRM.format(
            kind=LETTER_KINDS.get(draft.get("kind", ""), ""),
            content=_shown(draft.get("content", "")),
            name=draft.get("name") or texts.NOT_PROVIDED,
            mobile=masked,
        )
        return Reply(text, choices=_choices(texts.CONFIRM_CHOICES))

    async def _submit(
        self, msg: IncomingMessage, conv: Conversation, events: list[str]
    ) -> list[Reply]:
        draft = conv.draft
        # One letter per draft: a retried delivery of the confirmation, and a second
        # confirmation sent before the first was answered (a double tap, with its own message
        # id), return the same letter.
        key = f"{msg.channel}:{msg.account}:{msg.user}:{draft['started']}"
        code, deadline = await submit_letter(
            self.deps,
            channel=msg.channel,
            account_code=msg.account,
            user=msg.user,
            kind=draft["kind"],
            content=draft["content"],
            name=draft.get("name", ""),
            mobile=draft.get("mobile", ""),
            idempotency_key=key,
        )
        if draft.get("ask"):
            # The question the bot could not answer became this letter: it is dealt with, and
            # supervision does not count it as left unanswered.
            events.append(letter_event(draft["ask"]))
        conv.reset()
        conv.unsolved = 0
        conv.step, conv.letter_code = "submitted", code
        return [Reply(texts.LETTER_DONE.format(code=code, deadline=deadline))]

    async def _status(self, msg: IncomingMessage, code: str) -> Reply:
        allowed = await allow_status_lookup(
            self.deps, client=msg.client, channel=msg.channel, account=msg.account, user=msg.user
        )
        if not allowed:
            return Reply(texts.STATUS_RATE_LIMITED)
        found = await letter_status(self.deps, code)
        if found is None:
            return Reply(texts.STATUS_NOT_FOUND.format(code=code.upper()))
        return Reply(found)


def _claim_args(claim: Claim) -> list:
    return [f"{claim.token}:{claim.now}", claim.ttl, claim.now, claim.retry_seconds]


def _choices(pairs) -> tuple[Choice, ...]:
    return tuple(Choice(v, label) for v, label in pairs)


def _kind_options(first: str) -> list[str]:
    return [first, *[k for k in LETTER_KINDS if k != first]]


def engine_for(deps: Deps) -> Engine:
    """One engine per process, kept beside the deps."""
    engine = deps.extensions.get("bot_engine")
    if engine is None:
        engine = deps.extensions["bot_engine"] = Engine(deps)
    return engine
