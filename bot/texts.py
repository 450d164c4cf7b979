"""What the bot says, in one place, so that the office can read and adjust its voice."""

from __future__ import annotations

WELCOME = (
    "您好！这里是{name}智能问答服务。\n"
    "请直接发送您的问题，例如“居住证怎么办理”。\n"
    "回复“留言”可向有关部门写信，回复“查询 跟踪码”可查看留言办理进度，回复“帮助”查看说明。"
)
HELP = (
    "使用说明：\n"
    "1. 直接发送问题，我会从政务知识库中为您查找答案；\n"
    "2. 回复“留言”，把问题转给有关部门，在法定期限内答复；\n"
    "3. 回复“查询 跟踪码”，查看留言的办理进度和答复；\n"
    "4. 回复“人工”，直接留言给工作人员。"
)
ASK_FEEDBACK = "以上答复是否解决了您的问题？"
# 要带什么材料 after an answer: the sentences that say it, under the entry's question
EXCERPT = "【{question}】\n关于“{asked}”：{part}\n（回复“全文”查看完整答复）"
FULL_WORDS = frozenset({"全文", "完整答复", "查看全文", "看全文", "查看完整答复"})
FEEDBACK_CHOICES = (("1", "已解决"), ("2", "未解决"))
THANKS = "感谢您的反馈！如还有其他问题，请直接发送。"
SORRY_TRY_AGAIN = "抱歉没能帮到您。您可以换个说法再问一次，或回复“留言”把问题转给有关部门。"
SUGGEST = "您是不是想问以下问题？请回复序号："
SUGGEST_NONE_LABEL = "都不是，我要留言"
CHOOSE_AGAIN = "请回复 1 到 {n} 之间的序号，或回复 0 留言。"
CHOOSE_THE_ONE = "请回复 1 查看，或回复 0 留言。"
ONE_OR_TWO = "请回复 1 或 2；如有其他问题，请直接发送。"
NO_CHOICE = "目前没有待选的序号。请直接发送您的问题，例如“社保卡丢了怎么补办”。"
# 要带什么材料 with no matter said before it: of what?
WHICH_MATTER = "请问您要办理的是哪项业务？请告诉我业务名称，例如“社保卡补办”。"
CANNOT_ANSWER = (
    "抱歉，这个问题我暂时无法准确回答。您可以留言，我们会转给有关部门，在法定期限内答复您。"
)
# A long message that asks nothing (a complaint, a report, a suggestion): the letter is the way.
REPORT_OFFER = "您反映的情况需要有关部门办理。您可以留言，我们会转给有关部门，在法定期限内答复您。"
OFFER_CHOICES = (("1", "我要留言"), ("2", "不用了"))
# No answer, but the knowledge base has questions close to it (相关问题), listed above the offer.
RELATED = "抱歉，这个问题我暂时无法准确回答。下面这些相关问题也许对您有帮助，回复序号查看答复："
RELATED_OFFER = (
    "如果都不是您要问的，请回复 0 留言，我们会转给有关部门，在法定期限内答复您；"
    "不需要留言请回复“不用了”。"
)
RELATED_OFFER_CHOICES = (("0", "我要留言"),)
STILL_UNSOLVED = "看来问题还没有解决，我们帮您转给工作人员。"
OK_NO_LETTER = "好的。如还有其他问题，请直接发送。"
UNSUPPORTED = "目前我只能识别文字消息（{what}暂不支持），请用文字描述您的问题。"
SLOW_DOWN = "您发送得太快了，请稍后再试。"
INTERIM = "正在为您查询，请稍候……"
TOO_LONG = "消息太长了（{n}字），请控制在{max}字以内，内容多的可以分几次发送。"
LETTER_FULL = (
    "留言内容最多{max}字，加上这段补充会超出，未能添加。请精简后再发送，或回复 1 提交已有内容。"
)
EMPTY = "请用文字描述您的问题，例如“社保卡丢了怎么补办”。"

NO_LIVE_AGENT = "目前没有在线人工客服。您可以留言，工作人员会在法定期限内答复您。"
LETTER_CONTENT = "请描述您要反映的问题或咨询的事项（越具体越便于办理）："
LETTER_MORE = "您的留言内容：\n「{content}」\n如需补充，请直接发送补充内容；内容完整请回复 1。"
LETTER_MORE_ADDED = "已补充。还有需要补充的吗？内容完整请回复 1。"
LETTER_TOO_SHORT = "留言内容太短，请具体描述您的问题（至少5个字）。"
LETTER_KIND = "请选择留言类型（回复序号）："
# a reply at the type step that is neither one of its numbers nor a type's name
LETTER_KIND_AGAIN = "请选择留言类型，回复序号 1–{n} 或类型名称（如“投诉”）："
LETTER_PRIVACY = (
    "为便于办理单位联系您，您可以留下姓名和手机号（均为选填）。"
    "您的个人信息仅办理单位可见，不会公开，也不会出现在答复和知识库中。\n"
    "请发送您的姓名，或回复“跳过”。"
)
MOBILE_NOT_NOW = (
    "手机号请在留言时填写：回复“留言”并描述您的问题，最后一步会请您留下手机号"
    "（选填，仅办理单位可见）。"
)
LETTER_MOBILE = "请发送您的手机号（11位），或回复“跳过”。"
LETTER_BAD_MOBILE = "手机号格式不正确，请重新发送11位手机号，或回复“跳过”。"
LETTER_CONFIRM = "请确认您的留言：\n类型：{kind}\n内容：{content}\n姓名：{name}\n手机：{mobile}"
CONFIRM_CHOICES = (("1", "提交"), ("2", "重新填写内容"), ("3", "取消留言"))
LETTER_CANCELLED = "已取消留言。如还有其他问题，请直接发送。"
LETTER_DONE = (
    "留言已提交！\n跟踪码：{code}\n请妥善保存跟踪码。有关部门将于{deadline}前答复您"
    "（以受理时间起算）。\n回复“查询 {code}”可随时查看办理进度。"
)
# A confirmation whose answer was lost with the conversation (Redis restarted after the letter
# was committed): the letter is found again and its code shown.
LETTER_DONE_EARLIER = (
    "您刚才的留言已提交成功。\n跟踪码：{code}\n请妥善保存跟踪码。"
    "回复“查询 {code}”可随时查看办理进度。"
)
NOT_PROVIDED = "未填写"

STATUS_ASK_CODE = "请发送留言的跟踪码（10 位，如 7KQ2M-XP4RT）："
STATUS_FORGOT_CODE = (
    "跟踪码在您提交留言时显示（10 位，如 7KQ2M-XP4RT）。留了手机号的，有答复时会收到短信，"
    "短信中附有跟踪码。如果找不到了，可以回复“留言”再写一次，并在内容中说明原来的留言情况。"
)
STATUS_RATE_LIMITED = "查询过于频繁，请稍后再试。"
STATUS_NOT_FOUND = "没有找到跟踪码为 {code} 的留言，请核对后重新发送。"
STATUS_LINE = "跟踪码：{code}\n状态：{status}\n办理单位：{unit}\n提交时间：{created}{deadline}"
STATUS_REPLY = "\n答复（{at}）：\n{reply}"
PENDING_REPLY = "您的留言（跟踪码 {code}）已有答复：\n{reply}"

# Words a citizen uses for the global commands; compared after normalisation.
HELP_WORDS = {"帮助", "菜单", "help", "?", "？", "/help", "使用说明"}
LETTER_WORDS = {"留言", "写信", "我要留言", "投诉", "我要投诉", "反映问题"}
HUMAN_WORDS = {"人工", "人工服务", "转人工", "人工客服", "客服"}
CANCEL_WORDS = {"取消", "算了", "退出", "不用了"}
# Small talk, said on its own: a greeting gets the welcome, thanks or a goodbye a short reply;
# neither is a question for the knowledge base, nor an unanswered one for the console's list.
# Matched after the trailing particles and punctuation are dropped (bot.intents.small_talk).
GREETING_WORDS = {
    "你好", "您好", "你们好", "大家好", "在吗", "在不在", "有人吗", "有人在吗", "早上好", "上午好",
    "中午好", "下午好", "晚上好", "早", "早安", "哈喽", "嗨", "喂", "hello", "hi", "hey", "在么",
    "在不",
}  # fmt: skip
# Asking who answers: the welcome says what the bot is and how to reach a person. Whole messages
# only (人呢 is 人 once its particle is dropped), never a prefix: 人工客服, 有没有人工.
WHO_WORDS = {
    "你是谁", "你是机器人吗", "你是机器人", "是机器人吗", "机器人吗", "你是人工吗", "是人工吗",
    "你是真人吗", "是真人吗", "你是ai吗", "是ai吗", "你是人吗", "你是什么", "这是什么", "人",
    "有没有人", "有人没",
}  # fmt: skip
# What may follow a greeting before the question itself comes in the next message.
OPENER_WORDS = {
    "请问", "问一下", "请问一下", "我想问一下", "我想问问", "想问一下", "咨询一下", "我想咨询一下",
    "我想咨询", "我要咨询", "想咨询一下", "我有个问题", "我有个问题想问", "打扰一下", "打扰了",
}  # fmt: skip
# Thanks, an acknowledgement or a goodbye: a short reply.
THANKS_WORDS = {
    "谢谢", "谢谢你", "谢谢您", "谢谢你们", "多谢", "感谢", "非常感谢", "谢了", "好的谢谢",
    "好谢谢", "知道了谢谢", "明白了谢谢", "thanks", "thankyou", "辛苦了", "辛苦", "好的", "好",
    "嗯", "嗯嗯", "ok", "okay", "知道了", "明白了", "收到", "好的收到", "再见", "拜拜", "没事了",
    "没有了", "没有", "没了", "没问题了", "没有问题了", "哦", "噢", "哦哦", "好滴", "行", "行吧",
}  # fmt: skip
YOU_ARE_WELCOME = "不客气！如还有其他问题，请直接发送。"
NONE_WORDS = {"都不是", "都不对"}
SKIP_WORDS = {"跳过", "不填", "不留", "无", "没有", "不用"}
YES_WORDS = {
    "1", "是", "好", "好的", "已解决", "解决了", "有用", "可以", "对", "谢谢", "好的谢谢", "谢谢你",
    "谢谢您", "多谢", "感谢", "明白了", "知道了", "清楚了", "懂了",
}  # fmt: skip
NO_WORDS = {
    "2", "否", "不是", "未解决", "没解决", "没有解决", "没用", "不行", "没有", "没", "还没",
    "还没有", "没看懂", "看不懂", "不明白", "没明白", "还是没明白", "还是不明白", "不太明白",
    "没看明白", "看不明白", "不懂", "还是不懂", "没听懂", "不清楚", "还是不清楚", "不对",
    "答非所问", "没帮助", "没有帮助", "还是不行", "不满意",
}  # fmt: skip
# To the offer of a letter: yes (1, or these) and no (2, CANCEL_WORDS, or these).
ACCEPT_WORDS = {"好", "好的", "可以", "要", "需要", "行", "嗯", "是", "是的", "留", "写"}
DECLINE_WORDS = {
    "不用", "不需要", "不要", "没有", "不了", "没事", "没事了", "不留言", "不留了", "不用留言",
    "不写了", "先不用", "暂时不用",
}  # fmt: skip
# Asked for a tracking code: the citizen has none at hand.
NO_CODE_WORDS = {
    "不知道", "忘了", "忘记了", "忘记", "没有", "没记住", "找不到", "找不到了", "不记得",
    "不记得了", "没有跟踪码", "没保存", "丢了",
}  # fmt: skip
