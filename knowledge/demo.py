"""Demo knowledge base of our own for the demo city 清源市: published entries with similar
questions, synonym groups, one edit waiting for review, and a few questions the bot could not
answer. The text is written for the demo, not taken from any real government's answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis.asyncio as aioredis

from infra.clock import Clock, beijing_date
from knowledge.live import announce_all
from knowledge.models import Ask, Entry, EntryVersion, SynonymGroup, Topic
from knowledge.text import normalize
from org.models import Staff, Unit

TOPICS = ["户籍与居住", "社会保障", "住房公积金"]

# external id, topic, unit code, question, similar questions, answer. The similar questions are
# what citizens type (咋, 啥, 丢了, 没单位…), as an office enters them from its question log.
DEMO_ENTRIES: list[tuple[str, str, str, str, list[str], str]] = [
    (
        "demo-jzz-1",
        "户籍与居住",
        "QY-BGS",
        "怎么办理清源市居住证？",
        [
            "居住证怎么办",
            "外地人在清源怎么申领居住证",
            "办居住证需要什么材料",
            "居住证在哪里办理",
            "租房子的能办居住证吗",
            "办居住证要带啥",
        ],
        "在清源市居住满半年、有合法稳定就业、住所或连续就读条件之一的，可携带身份证、"
        "近期一寸照片和居住证明（房产证、租赁登记凭证或单位证明），到居住地派出所或社区"
        "警务室申领居住证，也可在“清源政务”小程序网上申请。租房居住的，先到社区办理房屋"
        "租赁登记即可作为居住证明。材料齐全的，15个工作日内发证，办理不收费。",
    ),
    (
        "demo-jzz-2",
        "户籍与居住",
        "QY-BGS",
        "居住证到期了怎么续签？",
        ["居住证过期怎么办", "居住证签注在哪里办", "居住证每年都要签注吗"],
        "居住证每年签注一次。请在有效期满前30日内，持居住证和居住证明到居住地派出所或在"
        "“清源政务”小程序办理签注；逾期未签注的，居住年限从重新签注之日起连续计算。",
    ),
    (
        "demo-hk-1",
        "户籍与居住",
        "QY-BGS",
        "户口迁入清源市需要什么条件？",
        ["怎么把户口迁到清源", "落户清源要什么材料", "户口迁移怎么办理"],
        "清源市实行“先落户后就业”政策：具有大专以上学历或技能等级证书的，在清源市有合法"
        "稳定住所（含租赁）的，以及投靠清源户籍直系亲属的，均可申请落户。请持身份证、户口簿"
        "及相应证明到拟落户地派出所申请，符合条件的当场受理，5个工作日内办结，可网上预约。",
    ),
    (
        "demo-sbk-1",
        "社会保障",
        "QY-RSJ",
        "社保卡怎么申领？",
        [
            "第一次办社保卡去哪里",
            "怎么办理社会保障卡",
            "新生儿社保卡怎么办",
            "小孩的社保卡在哪办",
            "办社保卡要带啥",
            "社保卡能在网上申请吗",
        ],
        "首次申领社保卡，可持身份证（未成年人持户口簿）到任一合作银行网点或区县社保经办"
        "窗口办理，也可在“清源人社”公众号线上申请、邮寄到家。新生儿在办理出生登记、参加"
        "城乡居民医保后，由父母在“清源人社”公众号上传户口簿照片和一寸照片即可申领，无需"
        "本人到场。即时制卡网点当场取卡；线上申请的一般7个工作日内寄出，办理不收费。",
    ),
    (
        "demo-sbk-2",
        "社会保障",
        "QY-RSJ",
        "社保卡丢了怎么挂失补办？",
        [
            "社保卡丢失怎么办",
            "社保卡补卡要多少钱",
            "社保卡坏了怎么换",
            "社保卡不见了在哪补办",
            "社保卡丢了能先挂失吗",
            "社保卡挂失打什么电话",
            "补办社保卡要带什么材料",
        ],
        "社保卡丢失请立即拨打12333或在“清源人社”公众号办理临时挂失（5天内有效），再持本人"
        "身份证（他人代办的另带代办人身份证）到合作银行网点或社保窗口办理正式挂失和补卡，也可"
        "在公众号线上申请、邮寄到家。即时制卡网点当场取卡，线上申请的一般7个工作日内寄出。"
        "因丢失补卡收取工本费20元，卡片损坏换卡免费。",
    ),
    (
        "demo-sb-1",
        "社会保障",
        "QY-RSJ",
        "没有工作单位，怎么以灵活就业人员身份缴纳社保？",
        [
            "灵活就业人员怎么交社保",
            "自由职业者社保怎么交",
            "辞职了社保自己怎么交",
            "没单位怎么交社保",
            "没有单位可以自己交社保吗",
            "社保断了自己咋续上",
        ],
        "在清源市无雇工的灵活就业人员（含自由职业者、离职后未再就业的人员），年满16周岁"
        "未达退休年龄的，可持身份证到户籍地或居住地社保经办窗口，或在“清源人社”公众号"
        "“灵活就业参保登记”中办理登记，参加职工基本养老保险和职工基本医疗保险。缴费基数"
        "可在全省上年度社平工资的60%至300%之间自选，按月或按季通过银行代扣或“清源人社”"
        "公众号缴费；断缴后重新登记即可接续，已缴年限累计计算。",
    ),
    (
        "demo-sb-2",
        "社会保障",
        "QY-RSJ",
        "个体工商户怎么参加养老保险？",
        [
            "个体户养老保险怎么交",
            "开店的个体老板怎么给自己交社保",
            "个体户雇的员工要交社保吗",
            "个体户交养老保险一年多少钱",
        ],
        "个体工商户业主本人可按灵活就业人员参加职工基本养老保险：持营业执照和身份证到社保"
        "经办窗口或在“清源人社”公众号办理登记，缴费基数在全省上年度社平工资的60%至300%"
        "之间自选，缴费比例20%，其中8%记入个人账户。有雇工的个体工商户应当为雇工办理"
        "单位参保登记，按月为雇工缴纳社会保险费。每年具体缴费金额以当年公布的缴费基数为准，"
        "可拨打12333咨询。",
    ),
    (
        "demo-sb-3",
        "社会保障",
        "QY-RSJ",
        "失业保险金怎么申领？",
        [
            "失业金怎么领",
            "失业了能领钱吗",
            "被辞退了怎么领失业金",
            "失业补助金去哪申请",
            "失业保险金能领多久",
        ],
        "非本人意愿中断就业（如劳动合同期满未续订、被单位解除劳动合同）、失业前单位和本人"
        "已缴纳失业保险费满1年、已办理失业登记并有求职要求的，可申领失业保险金。请在离职后"
        "60日内，持身份证和单位出具的解除或终止劳动关系证明，到户籍地或居住地社保经办窗口"
        "申请，也可在“清源人社”公众号“失业保险金申领”中在线办理。领取期限按累计缴费时间"
        "确定，缴费满1年不满5年的最长12个月；标准为清源市最低工资标准的90%，按月发放到"
        "本人社保卡金融账户，领取期间的职工医保费由失业保险基金代缴。",
    ),
    (
        "demo-sb-4",
        "社会保障",
        "QY-RSJ",
        "养老金每月什么时候发放？",
        [
            "退休金每月几号发",
            "养老金几号到账",
            "退休工资啥时候发",
            "这个月养老金怎么还没到",
            "养老金发放记录怎么查",
        ],
        "清源市企业退休人员的基本养老金每月15日前发放到本人社保卡金融账户，遇节假日提前。"
        "新办退休的，自批准退休的次月起发放。到期未到账的，请先在“清源人社”公众号“待遇"
        "发放查询”中查看发放记录，或持社保卡到合作银行网点查询；仍有疑问可拨打12333。",
    ),
    (
        "demo-sbk-3",
        "社会保障",
        "QY-RSJ",
        "社保卡密码忘了怎么办？",
        [
            "社保卡密码忘记了",
            "社保卡密码锁了怎么解锁",
            "社保卡密码怎么重置",
            "医保卡密码忘了咋办",
        ],
        "社保卡有两个密码：社保服务密码（查询社保信息、医院挂号缴费用）和金融账户密码"
        "（取款、转账用）。社保服务密码忘记或输错被锁的，可持社保卡和身份证到任一社保经办"
        "窗口或合作银行网点重置，也可在“清源人社”公众号人脸识别后在线重置；金融账户密码"
        "须本人持身份证到社保卡开户银行的网点重置。",
    ),
    (
        "demo-sb-5",
        "社会保障",
        "QY-RSJ",
        "怎么查询社保缴费记录？",
        [
            "怎么查社保缴了几年",
            "社保缴费年限在哪查",
            "查社保交了多少个月",
            "社保交没交怎么查",
        ],
        "可在“清源人社”公众号或“国家社会保险公共服务平台”登录后查询个人参保缴费记录和"
        "累计缴费年限；也可持社保卡或身份证到社保经办窗口、自助服务机打印《个人参保缴费"
        "证明》，打印不收费。单位已申报但记录未更新的，一般次月可查。",
    ),
    (
        "demo-sb-6",
        "社会保障",
        "QY-RSJ",
        "生育津贴怎么申领？",
        [
            "生育津贴怎么领",
            "生孩子能领多少钱",
            "产假工资怎么领",
            "生育津贴什么时候发",
        ],
        "参加职工基本医疗保险（含生育保险）的职工，生育或施行计划生育手术后，由用人单位在"
        "产假结束后一年内通过“清源医保”网上服务大厅为职工申报生育津贴，无需职工本人跑腿；"
        "灵活就业人员不享受生育津贴。津贴按职工所在单位上年度职工月平均工资除以30再乘以"
        "产假天数计发，审核通过后发放到单位账户，由单位按规定支付给职工。",
    ),
    (
        "demo-yb-1",
        "社会保障",
        "QY-RSJ",
        "新生儿怎么参加城乡居民医保？",
        [
            "新生儿医保怎么办",
            "宝宝出生后怎么上医保",
            "小孩刚出生医保在哪办",
            "新生儿医保怎么交",
        ],
        "新生儿出生后，父母可凭出生医学证明和户口簿，在“清源医保”公众号或户籍所在地社区（村）"
        "便民服务站办理城乡居民医保参保登记并缴纳当年度个人缴费。出生后90天内参保缴费的，"
        "自出生之日起享受医保待遇，出生时的住院费用也可按规定报销。参保后即可申领社保卡。",
    ),
    (
        "demo-yb-2",
        "社会保障",
        "QY-RSJ",
        "门诊看病医保能报销多少？",
        [
            "医保怎么报销",
            "看门诊医保能报吗",
            "医保门诊报销比例是多少",
            "住院医保报多少",
        ],
        "在本市定点医疗机构就医，持社保卡或医保电子凭证结算即可，个人只付自付部分，无需"
        "事后报销。职工医保普通门诊起付线每年1000元，起付线以上在社区医院报销90%、二三级"
        "医院报销70%—85%，年度最高支付2万元；城乡居民医保普通门诊报销50%以上。住院费用按"
        "医院等级和参保类别报销，具体以“清源医保”公众号的待遇查询为准。",
    ),
    (
        "demo-sb-7",
        "社会保障",
        "QY-RSJ",
        "领取养老金需要满足什么条件？",
        [
            "养老保险交满多少年才能领",
            "社保交多少年可以领退休金",
            "交了十年社保可以领退休金吗",
            "退休金领取条件",
        ],
        "达到法定退休年龄、基本养老保险累计缴费满最低缴费年限的，可按月领取基本养老金。"
        "最低缴费年限目前为15年，自2030年1月起每年提高6个月，逐步提高到20年。到龄时缴费"
        "不足最低年限的，可以延长缴费至满最低年限，也可以按规定一次性缴纳；已缴费年限可在"
        "“清源人社”公众号查询。",
    ),
    (
        "demo-rsj-1",
        "社会保障",
        "QY-RSJ",
        "市人社局的办公地址、咨询电话和办公时间？",
        [
            "人社局电话多少",
            "人社局在哪里",
            "办事大厅在哪里",
            "社保局几点上班",
            "你们的咨询电话是多少",
            "怎么联系你们",
        ],
        "清源市人力资源和社会保障局政务服务大厅：清源市人民路88号市民中心二楼（公交市民中心站）。"
        "办公时间：周一至周五上午9:00—12:00、下午13:30—17:00，法定节假日除外。咨询电话："
        "12333（人社服务热线，工作日8:30—17:30）；社保卡、养老、失业等业务也可在“清源人社”"
        "公众号在线办理。",
    ),
    (
        "demo-gjj-4",
        "住房公积金",
        "QY-GJJ",
        "住房公积金贷款最多能贷多少？",
        [
            "公积金贷款能贷多少",
            "公积金贷款额度怎么算",
            "公积金贷款要什么条件",
            "用公积金贷款买房最多贷几年",
        ],
        "连续足额缴存住房公积金满6个月、本人及配偶无未还清的公积金贷款的职工，购买自住住房"
        "可申请公积金贷款。清源市单人缴存的最高可贷60万元，夫妻双方缴存的最高可贷80万元，"
        "且不超过账户余额的15倍和房价的80%（首套）；贷款期限最长30年，且不超过借款人法定"
        "退休年龄后5年。可在“清源公积金”公众号试算可贷额度。",
    ),
    (
        "demo-gjj-1",
        "住房公积金",
        "QY-GJJ",
        "租房可以提取住房公积金吗？",
        ["租房怎么提取公积金", "公积金租房提取额度是多少", "没有买房能取公积金吗"],
        "在清源市无自有住房且租房自住的职工，可每季度提取一次住房公积金用于支付房租，每月"
        "提取额度不超过1500元；有租赁登记备案的，按实际月租金提取，最高不超过月缴存额。"
        "可在“清源公积金”公众号或各管理部柜台办理，审核通过后3个工作日内到账。",
    ),
    (
        "demo-gjj-2",
        "住房公积金",
        "QY-GJJ",
        "离职后住房公积金怎么提取？",
        ["辞职了公积金能取出来吗", "离职公积金怎么处理", "离开清源公积金怎么取"],
        "与单位终止劳动关系后，公积金账户封存满半年且未重新就业的，可申请提取；户口迁出"
        "清源市或调往外地工作的，可凭证明办理转移或提取。请携带身份证、银行卡到各管理部"
        "柜台办理，或在“清源公积金”公众号在线申请。",
    ),
    (
        "demo-gjj-3",
        "住房公积金",
        "QY-GJJ",
        "怎么提取住房公积金？",
        [
            "公积金能取出来吗",
            "什么情况下可以提取公积金",
            "提取公积金要带什么材料",
            "公积金啥时候可以取",
            "公积金提取去哪里办",
            "买房了怎么取公积金",
        ],
        "购买、建造、翻建自住住房，偿还自住住房贷款本息，租房自住，离职后账户封存满半年，"
        "退休，出境定居，以及本人或家庭成员患重大疾病的，均可申请提取住房公积金。大部分"
        "业务可在“清源公积金”公众号或小程序在线办理，按提示上传购房合同、贷款合同或租赁"
        "备案等材料；也可携带身份证、本人一类银行卡和相关证明到各管理部柜台办理。审核通过"
        "后3个工作日内转入本人银行卡。",
    ),
]

SYNONYM_GROUPS = [
    ["社保卡", "社会保障卡"],
    ["公积金", "住房公积金"],
    ["户口", "户籍"],
    ["提取", "支取", "取出"],
    ["灵活就业", "自由职业"],
]

# Questions the bot could not answer last week, for the "unanswered" page: (text, days ago).
# Some are one question in other words, to show them grouped.
DEMO_ASKS = [
    ("医保异地就医怎么备案", 1),
    ("医保异地就医怎么备案？", 2),
    ("異地就醫怎麼備案", 3),
    ("孩子上学怎么网上报名", 2),
    ("孩子上学如何网上报名", 4),
    ("老年人乘车卡在哪里办", 5),
    ("老人乘车卡咋办", 6),
]


def _live(question: str, similar: list[str], answer: str) -> dict[str, Any]:
    return {"question": question, "similar": similar, "answer": answer, "version": 1}


async def seed_knowledge_demo(clock: Clock, redis: aioredis.Redis | None = None) -> int:
    """Idempotent: creates the demo entries that do not exist yet (a database seeded by an
    older demo gets the entries added since), and the pending edit, the synonyms and the
    unanswered questions only with the first entries. Returns the entries created.
    Needs the demo city (org.demo) first: the entries belong to its units and staff."""
    existing = set(
        await Entry.filter(external_id__startswith="demo-").values_list("external_id", flat=True)
    )
    if all(e[0] in existing for e in DEMO_ENTRIES):
        return 0
    first = not existing
    now = clock.now()
    editor = await Staff.get_or_none(username="editor")
    reviewer = await Staff.get_or_none(username="reviewer")
    editor_id = editor.id if editor else None
    reviewer_id = reviewer.id if reviewer else None
    topics = {}
    for i, name in enumerate(TOPICS):
        topics[name] = (
            await Topic.get_or_create(name=name, defaults={"sort": i, "created_at": now})
        )[0]
    units = {u.code: u for u in await Unit.filter(code__in=[e[2] for e in DEMO_ENTRIES])}
    created = 0
    for ext, topic, unit_code, question, similar, answer in DEMO_ENTRIES:
        unit = units.get(unit_code)
        if unit is None or ext in existing:
            continue
        entry = await Entry.create(
            external_id=ext,
            question=question,
            similar=similar,
            answer=answer,
            topic=topics[topic],
            unit=unit,
            status="published",
            live=_live(question, similar, answer),
            review_by=beijing_date(now + dt.timedelta(days=180)),
            version=1,
            source="manual",
            created_by_id=editor_id,
            updated_by_id=editor_id,
            submitted_by_id=editor_id,
            reviewed_by_id=reviewer_id,
            created_at=now,
            updated_at=now,
            published_at=now,
        )
        for action, status, staff in (
            ("create", "draft", editor_id),
            ("submit", "review", editor_id),
            ("publish", "published", reviewer_id),
        ):
            await EntryVersion.create(
                entry=entry,
                version=1,
                action=action,
                status=status,
                question=question,
                similar=similar,
                answer=answer,
                topic_id=topics[topic].id,
                staff_id=staff,
                at=now,
            )
        created += 1
    # One published entry with an edit waiting for review: the old answer keeps answering.
    pending = await Entry.get_or_none(external_id="demo-sbk-2") if first else None
    if pending is not None:
        pending.answer += "补卡期间可使用电子社保卡就医购药。"
        pending.version, pending.status = 2, "review"
        await pending.save(update_fields=["answer", "version", "status"])
        for action, status in (("edit", "draft"), ("submit", "review")):
            await EntryVersion.create(
                entry=pending,
                version=2,
                action=action,
                status=status,
                question=pending.question,
                similar=pending.similar,
                answer=pending.answer,
                topic_id=pending.topic_id,  # type: ignore[attr-defined]
                staff_id=editor_id,
                at=now,
            )
    await _seed_synonyms(editor_id, now)
    for text, days in DEMO_ASKS if first and created else []:
        await Ask.create(
            asked_at=now - dt.timedelta(days=days, hours=3),
            text=text,
            normalized=normalize(text),
            channel="wechat",
            decision="none",
        )
    if redis is not None:
        await announce_all(redis)
    return created


async def _seed_synonyms(editor_id: int | None, now: dt.datetime) -> None:
    """The demo's synonym groups that share no word with a group staff already have."""
    taken = {w for g in await SynonymGroup.all().values_list("words", flat=True) for w in g}
    for group in SYNONYM_GROUPS:
        # Normalised as the matcher reads them; a pair its lexicon already joins is no group.
        words = list(dict.fromkeys(w for w in (normalize(w) for w in group) if w))
        if len(words) < 2 or taken.intersection(words):
            continue
        await SynonymGroup.create(words=words, updated_by_id=editor_id, updated_at=now)
        taken.update(words)
