"""Length of a post as each network counts it.

Networks disagree on what a "character" is: Mastodon counts code points (every
http(s) URL as 23), Bluesky and Threads count grapheme clusters, and X weights
code points (CJK and emoji count 2, Latin 1) and counts every URL as 23.
Truncation must use the rule the network enforces or posts get rejected.

The X rules are a port of twitter-text 3 (github.com/twitter/twitter-text,
Apache-2.0): config/v3.json weights, the JS ``extractUrlsWithIndices`` URL
extractor and its TLD list (conformance/tld_lib.yml at commit
30e2430d90cff3b46393ea54caf511441983c260). Emoji are matched by Unicode
properties instead of twitter-text's 2019 emoji list, so emoji sequences added
since then also count 2; tests/test_text.py runs the official vectors.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

import regex

COUNTINGS = ("characters", "graphemes", "x-weighted")


@dataclass(frozen=True)
class XConfig:
    """A twitter-text weighting config; defaults are config/v3.json."""

    max_weighted_length: int = 280
    scale: int = 100
    default_weight: int = 200
    ranges: tuple[tuple[int, int, int], ...] = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))
    transformed_url_length: int = 23
    emoji_parsing: bool = True


X_V3 = XConfig()
X_V2 = XConfig(emoji_parsing=False)  # only for running twitter-text's v2 vectors


class XResult(NamedTuple):
    weighted_length: int
    valid: bool


@lru_cache(maxsize=8192)  # a post is measured again for each hashtag count tried
def measure(text: str, counting: str, url_length: int | None = None) -> int:
    """Length of text as a network counts it (see COUNTINGS and the module docstring).

    For "characters" and "graphemes" url_length replaces only URLs with an
    http(s) scheme, as Mastodon does; bare domains are counted as written.
    For "x-weighted" url_length overrides X's 23.
    """
    if counting not in COUNTINGS:
        raise ValueError(f"unknown counting {counting!r}; expected one of {COUNTINGS}")
    text = unicodedata.normalize("NFC", text)
    if counting == "x-weighted":
        config = X_V3 if url_length is None else XConfig(transformed_url_length=url_length)
        return parse_x(text, config).weighted_length
    count = len if counting == "characters" else _grapheme_count
    if url_length is None:
        return count(text)
    total, pos = 0, 0
    for start, end in find_urls(text):
        if _HAS_SCHEME.match(text, start):
            total += count(text[pos:start]) + url_length
            pos = end
    return total + count(text[pos:])


def parse_x(text: str, config: XConfig = X_V3) -> XResult:
    """twitter-text ``parseTweet``: weighted length and validity (range fields omitted)."""
    text = unicodedata.normalize("NFC", text)
    urls = dict(find_urls(text))
    emoji = {m.start(): m.end() for m in _EMOJI.finditer(text)} if config.emoji_parsing else {}
    total, i = 0, 0
    while i < len(text):
        if i in urls:
            total += config.transformed_url_length * config.scale
            i = urls[i]
        elif i in emoji:
            total += config.default_weight
            i = emoji[i]
        else:
            total += _weight(ord(text[i]), config)
            i += 1
    length = total // config.scale
    valid = 0 < length <= config.max_weighted_length and not _INVALID_CHARS.search(text)
    return XResult(length, valid)


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters: what a reader perceives as one character."""
    return _GRAPHEME.findall(text)


def find_urls(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of URLs the way twitter-text extracts them (with or without scheme)."""
    if "." not in text:
        return []
    rx = _url_regexes()
    spans: list[list[int]] = []
    for m in _url_matches(text, rx):
        before, url, protocol, domain, path = m.group(2, 3, 4, 5, 7)
        end = m.end()
        start = end - len(url)
        if not _valid_url(url, protocol or "https://", domain):
            continue
        if not protocol:
            # Bare domains must be ASCII and not glued to a path or file name.
            if before and before in "-_./":
                continue
            last = None
            for ascii_domain in rx.ascii_domain.finditer(domain):
                last = [start + ascii_domain.start(), start + ascii_domain.end()]
                spans.append(last)
            if last is not None and path:
                last[1] = end
            continue
        tco = rx.tco.match(url)
        if tco:  # t.co links never have a path beyond the slug
            if len(tco.group(1)) > 40:
                continue
            end = start + tco.end()
        spans.append([start, end])
    return [(s, e) for s, e in spans]


def _url_matches(text: str, rx: _UrlRegexes) -> Iterator[regex.Match[str]]:
    """Matches of rx.extract exactly as ``finditer`` would yield them, in linear time.

    Tried at every position, the pattern rescans the same chain of domain labels
    from each start: quadratic, tens of seconds for some 10,000-character texts.
    But when a start u fails, a later start u' inside the label chain from u can
    only succeed if u' begins "http://", or if the label u' is in has a "_" before
    u' and none after (then "x_ab.com" fails from "x" but matches from "a"); any
    other match from u' would extend back to u. Those holes can only match with
    no subdomain, which rx.extract_one_label tries cheaply; all else is skipped.
    """
    schemes = [m.start() for m in _HAS_SCHEME.finditer(text)]
    holes: list[tuple[int, int]] = []  # sorted (start, end) ranges of u' still to try
    i, dead_until = 0, 0
    while i < len(text):
        u = i + 1
        k = bisect_left(schemes, u)
        next_scheme = schemes[k] if k < len(schemes) else len(text)
        if u >= dead_until or next_scheme == u:
            m = rx.extract.match(text, i)
        else:
            h = bisect_right(holes, (u, len(text)))
            if h and holes[h - 1][0] <= u < holes[h - 1][1]:
                m = rx.extract_one_label.match(text, i)
            else:
                next_hole = holes[h][0] if h < len(holes) else len(text)
                i = min(next_scheme, next_hole, dead_until) - 1
                continue
        if m:
            yield m
            i = m.end()
            continue
        if u >= dead_until:
            starts = ([0] if i == 0 else []) + ([u] if rx.preceding.match(text, i) else [])
            for start in starts:
                if rx.domain_char.match(text, start):
                    dead_until = rx.label_chain.match(text, start).end()
                    holes += _underscore_holes(text, start, dead_until)
                    break
        i += 1


def _underscore_holes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Per label in text[start:end], the part after its last "_" (see _url_matches)."""
    holes = []
    for label in text[start:end].split("."):
        cut = label.rfind("_")
        if cut >= 0:
            holes.append((start + cut + 1, start + len(label)))
        start += len(label) + 1
    return holes


def _grapheme_count(text: str) -> int:
    return sum(1 for _ in _GRAPHEME.finditer(text))


def _weight(code_point: int, config: XConfig) -> int:
    for start, end, weight in config.ranges:
        if start <= code_point <= end:
            return weight
    return config.default_weight


def _valid_url(url: str, protocol: str, domain: str) -> bool:
    """twitter-text isValidUrl: each DNS label 1..63 chars once punycoded, URL <= 4096."""
    if domain.startswith("xn--") and not _url_regexes().ascii_domain.search(domain):
        return False
    for label in domain.split("."):
        try:
            size = len(label) if label.isascii() else 4 + len(label.encode("punycode"))
        except UnicodeError:
            return False
        if not 1 <= size <= 63:
            return False
    return len(protocol) + len(url) <= 4096


_GRAPHEME = regex.compile(r"\X")
_HAS_SCHEME = regex.compile(r"https?://", regex.IGNORECASE)
_INVALID_CHARS = regex.compile("[\ufffe\ufeff\uffff]")

# An emoji (UTS #51 sequence) counts 2 on X however many code points it has.
# Bare text-style symbols (© ® digits) stay ordinary characters, as in twitter-text.
_EMOJI_ELEMENT = r"""(?:
    \p{RI}\p{RI}                                   # flag
  | [#*0-9]\uFE0F?\u20E3                           # keycap
  | \p{Emoji_Modifier_Base}\p{Emoji_Modifier}      # skin tone
  | \p{Emoji}[\U000E0020-\U000E007E]+\U000E007F    # subdivision flag (tag sequence)
  | (?!\p{Emoji_Presentation})(?![#*0-9])\p{Emoji}\uFE0F   # text symbol shown as emoji
  | \p{Emoji_Presentation}
)"""
_EMOJI = regex.compile(rf"{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*", regex.VERBOSE)

# twitter-text character classes (js/src/regexp/*.js).
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066\u2067\u2068\u2069"
_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263\u0268\u026F\u0272"
    r"\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_CYRILLIC = r"\u0400-\u04FF"


class _UrlRegexes(NamedTuple):
    extract: regex.Pattern[str]
    ascii_domain: regex.Pattern[str]
    tco: regex.Pattern[str]
    extract_one_label: regex.Pattern[str]  # extract without subdomains: see _url_matches
    preceding: regex.Pattern[str]  # a char that may precede a URL
    domain_char: regex.Pattern[str]
    label_chain: regex.Pattern[str]  # subdomain labels, then a partial last one


@cache
def _url_regexes() -> _UrlRegexes:
    """Compiled on first use: the TLD alternation is large."""
    tlds = "|".join(regex.escape(t) for t in sorted(_TLDS.split(), reverse=True))  # longest of a prefix pair first
    tld = rf"(?:(?:{tlds})(?=[^0-9a-zA-Z@+\-]|$)|xn--[\-0-9a-z]+)"
    dc = rf"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
    name = rf"(?:{dc}(?:-|{dc})*)?{dc}\.{tld}"
    domain = rf"(?:(?:{dc}(?:[_\-]|{dc})*)?{dc}\.)*{name}"
    path_char = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
    parens = rf"\((?:{path_char}+|{path_char}*\({path_char}+\){path_char}*)\)"
    path_end = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{parens})"
    path = rf"(?:{path_char}*(?:{parens}{path_char}*)*{path_end}|@{path_char}+/)"
    query = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
    preceding = rf"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
    extract = rf"(({preceding})((https?://)?({domain})(?::([0-9]+))?(/{path}*)?({query})?))"
    extract_one_label = extract.replace(domain, name)
    ascii_domain = rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{tld}"
    label_chain = rf"(?:{dc}(?:[_\-]*{dc})*\.)*(?:{dc}(?:[_\-]|{dc})*)?"
    return _UrlRegexes(
        *(
            regex.compile(pattern, regex.IGNORECASE)
            for pattern in (
                extract,
                ascii_domain,
                rf"https?://t\.co/([a-z0-9]+)(?:{query})?",
                extract_one_label,
                rf"[^A-Za-z0-9@＠$#＃{_INVALID}]",
                dc,
                label_chain,
            )
        )
    )


# twitter-text conformance/tld_lib.yml (generic + country), sorted, space-separated.
_TLDS = (
    "aaa aarp abarth abb abbott abbvie abc able abogado abudhabi ac academy accenture accountant accountants aco "
    "active actor ad adac ads adult ae aeg aero aetna af afamilycompany afl africa ag agakhan agency ai aig aigo "
    "airbus airforce airtel akdn al alfaromeo alibaba alipay allfinanz allstate ally alsace alstom am "
    "americanexpress americanfamily amex amfam amica amsterdam an analytics android anquan anz ao aol apartments "
    "app apple aq aquarelle ar arab aramco archi army arpa art arte as asda asia associates at athleta attorney "
    "au auction audi audible audio auspost author auto autos avianca aw aws ax axa az azure ba baby baidu "
    "banamex bananarepublic band bank bar barcelona barclaycard barclays barefoot bargains baseball basketball "
    "bauhaus bayern bb bbc bbt bbva bcg bcn bd be beats beauty beer bentley berlin best bestbuy bet bf bg bh "
    "bharti bi bible bid bike bing bingo bio biz bj bl black blackfriday blanco blockbuster blog bloomberg blue "
    "bm bms bmw bn bnl bnpparibas bo boats boehringer bofa bom bond boo book booking boots bosch bostik boston "
    "bot boutique box bq br bradesco bridgestone broadway broker brother brussels bs bt budapest bugatti build "
    "builders business buy buzz bv bw by bz bzh ca cab cafe cal call calvinklein cam camera camp cancerresearch "
    "canon capetown capital capitalone car caravan cards care career careers cars cartier casa case caseih cash "
    "casino cat catering catholic cba cbn cbre cbs cc cd ceb center ceo cern cf cfa cfd cg ch chanel channel "
    "charity chase chat cheap chintai chloe christmas chrome chrysler church ci cipriani circle cisco citadel "
    "citi citic city cityeats ck cl claims cleaning click clinic clinique clothing cloud club clubmed cm cn co "
    "coach codes coffee college cologne com comcast commbank community company compare computer comsec condos "
    "construction consulting contact contractors cooking cookingchannel cool coop corsica country coupon coupons "
    "courses cpa cr credit creditcard creditunion cricket crown crs cruise cruises csc cu cuisinella cv cw cx cy "
    "cymru cyou cz dabur dad dance data date dating datsun day dclk dds de deal dealer deals degree delivery "
    "dell deloitte delta democrat dental dentist desi design dev dhl diamonds diet digital direct directory "
    "discount discover dish diy dj dk dm dnp do docs doctor dodge dog doha domains doosan dot download drive dtv "
    "dubai duck dunlop duns dupont durban dvag dvr dz earth eat ec eco edeka edu education ee eg eh email emerck "
    "energy engineer engineering enterprises epost epson equipment er ericsson erni es esq estate esurance et "
    "etisalat eu eurovision eus events everbank exchange expert exposed express extraspace fage fail fairwinds "
    "faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero fi fiat fidelity fido film "
    "final finance financial fire firestone firmdale fish fishing fit fitness fj fk flickr flights flir florist "
    "flowers flsmidth fly fm fo foo food foodnetwork football ford forex forsale forum foundation fox fr free "
    "fresenius frl frogans frontdoor frontier ftr fujitsu fujixerox fun fund furniture futbol fyi ga gal gallery "
    "gallo gallup game games gap garden gay gb gbiz gd gdn ge gea gent genting george gf gg ggee gh gi gift "
    "gifts gives giving gl glade glass gle global globo gm gmail gmbh gmo gmx gn godaddy gold goldpoint golf goo "
    "goodhands goodyear goog google gop got gov gp gq gr grainger graphics gratis green gripe grocery group gs "
    "gt gu guardian gucci guge guide guitars guru gw gy hair hamburg hangout haus hbo hdfc hdfcbank health "
    "healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi hiv hk hkt hm hn hockey holdings holiday "
    "homedepot homegoods homes homesense honda honeywell horse hospital host hosting hot hoteles hotels hotmail "
    "house how hr hsbc ht htc hu hughes hyatt hyundai ibm icbc ice icu id ie ieee ifm iinet ikano il im imamat "
    "imdb immo immobilien in inc industries infiniti info ing ink institute insurance insure int intel "
    "international intuit investments io ipiranga iq ir irish is iselect ismaili ist istanbul it itau itv iveco "
    "iwc jaguar java jcb jcp je jeep jetzt jewelry jio jlc jll jm jmp jnj jo jobs joburg jot joy jp jpmorgan "
    "jprs juegos juniper kaufen kddi ke kerryhotels kerrylogistics kerryproperties kfh kg kh ki kia kim kinder "
    "kindle kitchen kiwi km kn koeln komatsu kosher kp kpmg kpn kr krd kred kuokgroup kw ky kyoto kz la lacaixa "
    "ladbrokes lamborghini lamer lancaster lancia lancome land landrover lanxess lasalle lat latino latrobe law "
    "lawyer lb lc lds lease leclerc lefrak legal lego lexus lgbt li liaison lidl life lifeinsurance lifestyle "
    "lighting like lilly limited limo lincoln linde link lipsy live living lixil lk llc llp loan loans locker "
    "locus loft lol london lotte lotto love lpl lplfinancial lr ls lt ltd ltda lu lundbeck lupin luxe luxury lv "
    "ly ma macys madrid maif maison makeup man management mango map market marketing markets marriott marshalls "
    "maserati mattel mba mc mcd mcdonalds mckinsey md me med media meet melbourne meme memorial men menu meo "
    "merckmsd metlife mf mg mh miami microsoft mil mini mint mit mitsubishi mk ml mlb mls mm mma mn mo mobi "
    "mobile mobily moda moe moi mom monash money monster montblanc mopar mormon mortgage moscow moto motorcycles "
    "mov movie movistar mp mq mr ms msd mt mtn mtpc mtr mu museum mutual mutuelle mv mw mx my mz na nab nadex "
    "nagoya name nationwide natura navy nba nc ne nec net netbank netflix network neustar new newholland news "
    "next nextdirect nexus nf nfl ng ngo nhk ni nico nike nikon ninja nissan nissay nl no nokia "
    "northwesternmutual norton now nowruz nowtv np nr nra nrw ntt nu nyc nz obi observer off office okinawa "
    "olayan olayangroup oldnavy ollo om omega one ong onion onl online onyourside ooo open oracle orange org "
    "organic orientexpress origins osaka otsuka ott ovh pa page pamperedchef panasonic panerai paris pars "
    "partners parts party passagens pay pccw pe pet pf pfizer pg ph pharmacy phd philips phone photo photography "
    "photos physio piaget pics pictet pictures pid pin ping pink pioneer pizza pk pl place play playstation "
    "plumbing plus pm pn pnc pohl poker politie porn post pr pramerica praxi press prime pro prod productions "
    "prof progressive promo properties property protection pru prudential ps pt pub pw pwc py qa qpon quebec "
    "quest qvc racing radio raid re read realestate realtor realty recipes red redstone redumbrella rehab reise "
    "reisen reit reliance ren rent rentals repair report republican rest restaurant review reviews rexroth rich "
    "richardli ricoh rightathome ril rio rip rmit ro rocher rocks rodeo rogers room rs rsvp ru rugby ruhr run rw "
    "rwe ryukyu sa saarland safe safety sakura sale salon samsclub samsung sandvik sandvikcoromant sanofi sap "
    "sapo sarl sas save saxo sb sbi sbs sc sca scb schaeffler schmidt scholarships school schule schwarz science "
    "scjohnson scor scot sd se search seat secure security seek select sener services ses seven sew sex sexy sfr "
    "sg sh shangrila sharp shaw shell shia shiksha shoes shop shopping shouji show showtime shriram si silk sina "
    "singles site sj sk ski skin sky skype sl sling sm smart smile sn sncf so soccer social softbank software "
    "sohu solar solutions song sony soy space spiegel sport spot spreadbetting sr srl srt ss st stada staples "
    "star starhub statebank statefarm statoil stc stcgroup stockholm storage store stream studio study style su "
    "sucks supplies supply support surf surgery suzuki sv swatch swiftcover swiss sx sy sydney symantec systems "
    "sz tab taipei talk taobao target tatamotors tatar tattoo tax taxi tc tci td tdk team tech technology tel "
    "telecity telefonica temasek tennis teva tf tg th thd theater theatre tiaa tickets tienda tiffany tips tires "
    "tirol tj tjmaxx tjx tk tkmaxx tl tm tmall tn to today tokyo tools top toray toshiba total tours town toyota "
    "toys tp tr trade trading training travel travelchannel travelers travelersinsurance trust trv tt tube tui "
    "tunes tushu tv tvs tw tz ua ubank ubs uconnect ug uk um unicom university uno uol ups us uy uz va vacations "
    "vana vanguard vc ve vegas ventures verisign vermögensberater vermögensberatung versicherung vet vg vi "
    "viajes video vig viking villas vin vip virgin visa vision vista vistaprint viva vivo vlaanderen vn vodka "
    "volkswagen volvo vote voting voto voyage vu vuelos wales walmart walter wang wanggou warman watch watches "
    "weather weatherchannel webcam weber website wed wedding weibo weir wf whoswho wien wiki williamhill win "
    "windows wine winners wme wolterskluwer woodside work works world wow ws wtc wtf xbox xerox xfinity xihuan "
    "xin xperia xxx xyz yachts yahoo yamaxun yandex ye yodobashi yoga yokohama you youtube yt yun za zappos zara "
    "zero zip zippo zm zone zuerich zw ελ ευ бг бел дети ею католик ком мкд мон москва онлайн орг рус рф сайт "
    "срб укр қаз հայ קום ابوظبي اتصالات ارامكو الاردن البحرين الجزائر السعودية العليان المغرب امارات ایران بارت "
    "بازار بيتك بھارت تونس سودان سورية شبكة عراق عرب عمان فلسطين قطر كاثوليك كوم مصر مليسيا موبايلي موريتانيا "
    "موقع همراه پاکستان ڀارت कॉम नेट भारत भारतम् भारोत संगठन বাংলা ভারত ভাৰত ਭਾਰਤ ભારત ଭାରତ இந்தியா இலங்கை சிங்கப்பூர் "
    "భారత్ ಭಾರತ ഭാരതം ලංකා คอม ไทย ລາວ გე みんな クラウド グーグル コム ストア セール ファッション ポイント 世界 "
    "中信 中国 中國 中文网 企业 佛山 信息 健康 八卦 公司 公益 台湾 台灣 商城 商店 商标 嘉里 嘉里大酒店 在线 "
    "大众汽车 大拿 天主教 娱乐 家電 工行 广东 微博 慈善 我爱你 手机 手表 招聘 政务 政府 新加坡 新闻 时尚 書籍 "
    "机构 淡马锡 游戏 澳門 点看 珠宝 移动 组织机构 网址 网店 网站 网络 联通 诺基亚 谷歌 购物 通販 集团 電訊盈科 "
    "飞利浦 食品 餐厅 香格里拉 香港 닷넷 닷컴 삼성 한국 "
)
