"""Planner layer: the fashion words fashrec understands, independent of any catalog.

Each entry maps what shoppers type ("navy", "dark blue", "plaid", "jeans", "for him") to candidate
catalog values, most specific first. Nothing here is a catalog value yet: :mod:`.grounding` keeps the
first candidate the catalog's vocabulary actually has, so the same lexicon serves a catalog that says
"navy" and one that says "navy blue", one with a ``material`` attribute and one without.

Notation (kept compact so the tables read like a glossary):
- keys are surfaces separated by ``|``; values are candidates separated by ``,``;
- ``a+b`` is a bundle: the word means both values ("jeans" in a catalog without jeans = trousers+denim);
- ``!v`` means the word asks to exclude ``v`` ("no prints" = not printed; else solid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Attribute kinds and the attribute names catalogs use for them. A catalog attribute whose name is not
# listed is still usable: its values are matched literally, under its own name.
KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "category": ("category", "categories", "article_type", "articletype", "type", "product_type",
                 "producttype", "item_type", "kind", "subcategory"),
    "color": ("color", "colour", "base_colour", "basecolour", "base_color", "basecolor", "colors",
              "colours", "shade"),
    "material": ("material", "materials", "fabric", "fabrics", "composition"),
    "pattern": ("pattern", "patterns", "print", "motif"),
    "gender": ("gender", "sex", "target_group", "department"),
    "usage": ("usage", "occasion", "occasions", "use", "style"),
    "season": ("season", "seasons"),
    "sleeve": ("sleeve", "sleeves", "sleeve_length", "sleevelength"),
    "fit": ("fit",),
    "length": ("length", "dress_length", "hemline"),
    "brand": ("brand", "brands", "label", "designer"),
    "size": ("size", "sizes"),
}

# Values that tell which attribute holds a kind when the catalog's attribute names are unfamiliar.
KIND_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "color": ("black", "white", "red", "blue", "green", "grey", "navy blue", "navy", "pink", "brown"),
    "material": ("cotton", "linen", "wool", "silk", "leather", "denim", "polyester"),
    "pattern": ("striped", "checked", "floral", "solid", "printed", "dotted"),
    "gender": ("men", "women", "unisex", "male", "female"),
    "usage": ("casual", "formal", "sports", "party"),
    "season": ("summer", "winter", "spring", "fall", "autumn"),
    "sleeve": ("sleeveless",),
    "category": ("shirt", "shirts", "dress", "dresses", "tshirts", "t-shirt", "jeans", "skirt", "shoes"),
}

# Bare values too common as plain English to match on their own ("a short dress" is not sleeve=short).
AMBIGUOUS_VALUES = frozenset({
    "short", "long", "regular", "full", "half", "none", "other", "others", "na", "n/a", "skin",
    "compact", "free", "one", "new", "all", "any", "mid", "light", "dark", "standard", "normal",
})

COLORS = {
    "black|jet black|jet|pitch black|ebony|onyx|noir|all black": "black",
    "white|pure white|snow white|bright white|optic white|all white": "white",
    "off white|offwhite|ivory|ecru|eggshell|vanilla|winter white": "off white, cream, white",
    "cream|creamy|cream coloured|cream colored": "cream, off white, beige",
    "navy|navy blue|dark navy|midnight blue|navy colour|navy color": "navy blue, navy, dark blue, blue",
    "dark blue|deep blue": "dark blue, navy blue, navy, blue",
    "indigo": "indigo, navy blue, navy, blue",
    "blue|mid blue|medium blue": "blue",
    "royal blue|cobalt|cobalt blue|electric blue|sapphire|bright blue": "royal blue, blue",
    "light blue|sky blue|baby blue|pale blue|powder blue|ice blue": "light blue, sky blue, blue",
    "turquoise|aqua|aquamarine|cyan|turquoise blue|turqoise": "turquoise blue, turquoise, teal, blue",
    "teal|petrol|petrol blue|teal blue|teal green": "teal, turquoise blue, green",
    "red|bright red|scarlet|crimson|cherry|cherry red|tomato red|fire red|ruby|blood red": "red",
    "burgundy|wine|wine red|bordeaux|oxblood|merlot|claret|burgundy red": "burgundy, maroon, red",
    "maroon|dark red|deep red": "maroon, burgundy, red",
    "pink|light pink|baby pink|pale pink|blush|blush pink|rose pink|dusty pink|dusky pink|bubblegum":
        "pink",
    "hot pink|fuchsia|fuschia|magenta|neon pink": "magenta, pink",
    "rose": "rose, pink",
    "purple|violet|plum|aubergine|eggplant|grape": "purple",
    "lavender|lilac|light purple|pale purple": "lavender, purple",
    "mauve": "mauve, lavender, purple",
    "green|emerald|emerald green|forest green|bottle green|dark green|kelly green|grass green|jade":
        "green",
    "olive|olive green|army green|military green|khaki green|moss|moss green": "olive, green",
    "sea green|mint|mint green|seafoam|sage|sage green": "sea green, green",
    "lime|lime green": "lime green, green",
    "neon green|fluorescent green|fluro green|acid green": "fluorescent green, lime green, green",
    "yellow|lemon|lemon yellow|canary|canary yellow|sunflower yellow|bright yellow": "yellow",
    "mustard|mustard yellow|ochre|ocher": "mustard, yellow",
    "gold|golden|gold tone|gold coloured|gold colored": "gold",
    "orange|tangerine|bright orange|burnt orange": "orange",
    "peach|apricot|coral|salmon": "peach, orange, pink",
    "rust|terracotta|brick|brick red|cinnamon": "rust, orange, brown",
    "brown|chocolate|chocolate brown|dark brown|walnut|chestnut|cognac": "brown",
    "coffee|coffee brown|espresso|mocha": "coffee brown, brown",
    "tan|caramel|tan brown": "tan, beige, brown",
    "camel|camel brown": "camel, tan, beige, brown",
    "beige|sand|sandy|oatmeal|light brown|fawn|stone beige": "beige",
    "khaki|khakhi": "khaki, beige, olive",
    "taupe": "taupe, beige, grey",
    "mushroom|mushroom brown": "mushroom brown, taupe, beige, brown",
    "nude|skin tone|skin colour|skin color|flesh": "nude, skin, beige",
    "grey|gray|mid grey|mid gray|ash|ash grey|slate|slate grey|heather grey|dove grey": "grey, gray",
    "light grey|light gray|pale grey|pale gray|silver grey": "light grey, grey, gray",
    "grey melange|gray melange|melange|grey marl|marl|heather": "grey melange, grey, gray",
    "charcoal|charcoal grey|charcoal gray|dark grey|dark gray|graphite|anthracite|gunmetal":
        "charcoal, dark grey, grey, gray",
    "silver|silver tone|silvery|metallic silver": "silver",
    "steel|stainless steel|steel grey": "steel, silver, grey",
    "bronze": "bronze, gold, brown",
    "copper": "copper, bronze, orange",
    "metallic|shiny|metallic finish": "metallic",
    "multi|multicolour|multicolor|multicoloured|multicolored|multi colour|multi color|"
    "multi coloured|multi colored|colourful|colorful|rainbow": "multi",
}

MATERIALS = {
    "linen|linnen|flax": "linen",
    "cotton|organic cotton|pure cotton|cotton blend": "cotton",
    "denim|chambray|jean": "denim",
    "wool|wool blend|woollen|woolen|woolly|wooly|cashmere|merino|merino wool|tweed|alpaca|mohair":
        "wool",
    "silk|silky|satin|silk blend|mulberry silk": "silk",
    "leather|real leather|genuine leather|faux leather|vegan leather|pleather|suede|nubuck|"
    "patent leather|leather look": "leather",
    "polyester|poly": "polyester",
    "viscose|rayon": "viscose, rayon",
    "nylon": "nylon",
    "velvet": "velvet",
    "corduroy|cord|cords": "corduroy",
    "fleece": "fleece",
    "canvas": "canvas",
}

PATTERNS = {
    "striped|stripes|stripe|stripy|stripey|pinstripe|pinstriped|pin stripe|pin striped|breton":
        "striped",
    "checked|check|checks|checkered|checkered|chequered|checkerd|plaid|plaids|tartan|gingham|"
    "houndstooth|buffalo check|windowpane": "checked",
    "dotted|dots|dot|polka dot|polka dots|polkadot|polkadots|polka|spotted|spots|spotty|dotty":
        "dotted",
    "floral|florals|flowers|flower|flowery|flowered|floral print|flower print|botanical": "floral",
    "printed|prints|a print|graphic|graphic print|graphics|logo print|patterned": "printed",
    "solid|plain|solid colour|solid color|single colour|single color|one colour|one color|"
    "unpatterned|no pattern|no patterns|without pattern|without patterns|without a pattern|"
    "block colour|block color": "solid",
    "no print|no prints|without print|without prints|without a print|not printed|non printed|"
    "print free|no graphics|no logo|no logos": "!printed, solid",
    "animal print|leopard|leopard print|zebra print|snake print|snakeskin": "animal, printed",
    "camo|camouflage": "camouflage, printed",
}

CATEGORIES = {
    "t shirt|t shirts|tshirt|tshirts|tee|tees|tee shirt|tee shirts|polo|polos|polo shirt|"
    "polo shirts|polo tshirt|polo t shirt|tshirt dress": "t-shirt, tshirts, t-shirts, tshirt, tees",
    "shirt|shirts|button down|button up|button down shirt|button up shirt|dress shirt|oxford shirt|"
    "flannel shirt|flannel": "shirt, shirts",
    "blouse|blouses": "blouse, blouses, tops, shirt, shirts",
    "top|tops|crop top|crop tops|tank top|tank tops|cami top": "top, tops, t-shirt, tshirts",
    "dress|dresses|frock|frocks|gown|gowns|sundress|sun dress": "dress, dresses",
    "skirt|skirts|mini skirt|midi skirt|maxi skirt|pencil skirt": "skirt, skirts",
    "trousers|trouser|pants|pant|slacks|chinos|chino|cargo pants|cargos|cargo trousers":
        "trousers, pants",
    "jeans|denims|jean trousers|denim trousers|denim pants": "jeans, trousers+denim, pants+denim",
    "shorts|bermudas|bermuda shorts": "shorts",
    "jacket|jackets|bomber|bomber jacket|puffer|puffer jacket|windbreaker|anorak|parka":
        "jacket, jackets",
    "coat|coats|overcoat|trench|trench coat": "coat, coats, jacket, jackets",
    "blazer|blazers|sport coat|suit jacket": "blazers, blazer, jacket, jackets",
    "rain jacket|raincoat|rain coat|rain jackets": "rain jacket, jacket, jackets",
    "sweater|sweaters|jumper|jumpers|pullover|pullovers|knit|knits|knitwear|cardigan|cardigans|"
    "cardi|turtleneck|turtlenecks": "sweater, sweaters",
    "hoodie|hoodies|hoody|sweatshirt|sweatshirts|crewneck sweatshirt":
        "sweatshirts, sweatshirt, hoodie, sweater, sweaters",
    "shoes|shoe|footwear": "shoes, casual shoes, sports shoes, formal shoes",
    "sneakers|sneaker|kicks|canvas shoes|plimsolls|tennis shoes": "sneakers, casual shoes, shoes",
    "trainers|trainer|running shoes|running shoe|runners|sport shoes|athletic shoes|gym shoes|"
    "sports shoe": "sports shoes, trainers, shoes",
    "formal shoes|dress shoes|oxfords|brogues|derby shoes|derbies": "formal shoes, shoes",
    "loafers|loafer|moccasins": "loafers, casual shoes, shoes",
    "heels|heel|high heels|high heel|pumps|stilettos|stiletto|wedges|block heels": "heels, shoes",
    "flats|ballet flats|ballerinas|ballerina flats": "flats, shoes",
    "sandals|sandal": "sandals, shoes",
    "flip flops|flip flop|flipflops|flipflop|slippers|sliders|slides|chappals": "flip flops, sandals, shoes",
    "boots|boot|ankle boots|chelsea boots": "boots, booties, shoes",
    "bag|bags|handbag|handbags|purse|purses|tote|tote bag|totes|shoulder bag|hand bag":
        "bag, handbags, bags",
    "backpack|backpacks|rucksack|rucksacks|school bag": "backpacks, rucksacks, backpack, bag",
    "clutch|clutches|evening bag": "clutches, clutch, bag, handbags",
    "wallet|wallets": "wallets, wallet",
    "watch|watches|wristwatch|wrist watch": "watches, watch",
    "sunglasses|sunnies|shades|sun glasses|sunglass": "sunglasses",
    "belt|belts": "belts, belt",
    "cap|caps|baseball cap": "caps, cap, hat",
    "hat|hats|beanie|beanies": "hat, hats, caps",
    "scarf|scarves|scarfs": "scarves, scarf, stoles",
    "kurta|kurtas": "kurtas, kurta",
    "kurti|kurtis": "kurtis, kurtas",
    "kurta set|kurta sets": "kurta sets, kurtas",
    "saree|sarees|sari|saris": "sarees, saree",
    "track pants|trackpants|track pant|joggers|jogger|sweatpants|sweat pants|jogging pants":
        "track pants, trousers",
    "tracksuit|tracksuits|track suit": "tracksuits, tracksuit",
    "night suit|night suits|pyjamas|pajamas|pjs|nightwear|pyjama|pajama": "night suits",
    "swimsuit|swimsuits|swimwear|bikini|bikinis|swimming costume": "swimwear",
    "jumpsuit|jumpsuits|playsuit|playsuits": "jumpsuit",
    "earrings|earring": "earrings",
    "necklace|necklaces|chain": "necklace and chains",
    "tie|ties|necktie|neckties": "ties, tie",
    "duffel|duffel bag|duffle bag|duffle|gym bag|travel bag": "duffel bag, bag",
}

GENDERS = {
    "women|woman|womens|womans|womens version|female|females|ladies|lady|ladys|for her|"
    "her version|herself|feminine|wife|girlfriend|mum|mom|mother|sister|aunt|grandma":
        "women, woman, female, ladies",
    "men|man|mens|mans|male|males|for him|his version|himself|guys|guy|gents|gentlemen|"
    "masculine|husband|boyfriend|dad|father|brother|uncle|grandpa": "men, man, male",
    "boys|boy|son|sons|teen boy": "boys, boy, men",
    "girls|girl|daughter|daughters|teen girl": "girls, girl, women",
    "kids|kid|children|child|childrens": "kids, children",
    "unisex|gender neutral|genderless|for both": "unisex",
}

# The one occasion vocabulary: refine, chat and outfit (``--occasion``) all read occasions through this
# table, grounded in the catalog's own usage values (the first candidate the catalog has wins, so
# "wedding" is party where the catalog has party, ethnic where it only has ethnic); see occasions.py.
USAGES = {
    "formal|formals|formal wear|formalwear|business|businesswear|business wear|office|"
    "for the office|for office|office wear|for work|workwear|work wear|work|professional|corporate|"
    "interview|job interview|meeting|meetings": "formal, smart casual",
    "casual|casual wear|casuals|everyday|everyday wear|daily wear|day to day|for the weekend|"
    "weekend wear": "casual",
    "smart casual|smart casuals|business casual": "smart casual, casual",
    "sports|sport|sporty|sportier|more sporty|athletic|athleisure|gym|for the gym|workout|"
    "workouts|running|jogging|training|activewear|active wear|yoga|sportswear|sports wear":
        "sports",
    "party|parties|partywear|party wear|party ish|partyish|going out|night out|clubbing|club|"
    "cocktail|evening wear|evening|evenings|evening out|dinner|dinner party|date night": "party",
    "wedding|weddings|for a wedding|wedding guest|reception": "party, ethnic, formal",
    "ethnic|ethnic wear|traditional|traditional wear|indian wear|desi": "ethnic, traditional",
    "diwali|eid|puja|pooja|navratri|festive|festival|festive wear|sangeet|mehendi": "ethnic, party",
    "travel|for travel|travelling|traveling|for a trip|trip|vacation|holiday|holidays": "travel",
}

SEASONS = {
    "summer|summery|summertime|hot weather|for the heat": "summer",
    "winter|wintery|wintry|wintertime|cold weather|for the cold": "winter",
    "spring|springtime": "spring",
    "autumn|fall|autumnal": "autumn, fall",
}

SLEEVES = {
    "short sleeves|short sleeve|short sleeved|half sleeves|half sleeve|half sleeved|short arms":
        "short",
    "long sleeves|long sleeve|long sleeved|full sleeves|full sleeve|full sleeved|long arms": "long",
    "sleeveless|no sleeves|without sleeves|strapless|tank": "sleeveless",
}

# Length and fit are rarely catalog attributes: when they are not, the word still steers ranking
# through the relative wish after the ``->``.
LENGTHS = {
    "maxi|ankle length|floor length|full length": "maxi, long -> longer",
    "midi|knee length|calf length": "midi",
    "mini|cropped|crop|short length": "mini, short -> shorter",
}
FITS = {
    "slim|slim fit|skinny|skinny fit|fitted|tight fit|tailored|tailored fit|bodycon":
        "slim, slim fit, fitted -> tighter",
    "loose|loose fit|oversized|oversize|baggy|relaxed fit|wide leg|wide fit|boxy":
        "loose, relaxed, oversized -> looser",
    "regular fit|straight fit|classic fit": "regular, regular fit",
}

KIND_TABLES: dict[str, dict[str, str]] = {
    "color": COLORS, "material": MATERIALS, "pattern": PATTERNS, "category": CATEGORIES,
    "gender": GENDERS, "usage": USAGES, "season": SEASONS, "sleeve": SLEEVES, "length": LENGTHS,
    "fit": FITS,
}

# Relative wishes (see plan.RELATIVE_WISHES); after ``->`` an occasion value they imply, if any.
RELATIVES = {
    "cheaper|cheaper one|cheaper ones|less expensive|more affordable|affordable|budget friendly|"
    "inexpensive|lower price|lower priced|cheapest|cheapest possible|cheapo|cheap|not so expensive|"
    "not too expensive|not too pricey|not so pricey|less pricey|less pricy|bargain|on a budget|"
    "lower cost": "cheaper",
    "pricier|more expensive|pricey|premium|higher end|high end|luxury|luxurious|more upscale|upscale":
        "pricier",
    "darker|deeper|darker shade|darker colour|darker color|darker tone|darker shades": "darker",
    "lighter|paler|lighter shade|lighter colour|lighter color|lighter tone|pastel|pastels|"
    "softer colours|softer colors": "lighter",
    "shorter sleeves|shorter sleeve|shorter sleeved|shorter arms|less sleeve|less sleeves":
        "shorter sleeves",
    "longer sleeves|longer sleeve|longer sleeved|longer arms|more sleeve|more sleeves": "longer sleeves",
    "longer|longer length|longer one": "longer",
    "shorter|shorter length|shorter one": "shorter",
    "looser|looser fit|baggier|roomier|less tight|less fitted|more room": "looser",
    "tighter|tighter fit|slimmer|slimmer fit|more fitted|less baggy|closer fitting": "tighter",
    "warmer|thicker|cozier|cosier|heavier|for colder weather|more insulated": "warmer",
    "cooler|thinner|lighter weight|lightweight|breathable|more breathable|airy|airier": "cooler",
    "simpler|plainer|more minimal|minimal|minimalist|less busy|less flashy|understated|subtler|"
    "more subtle|cleaner|more basic|basic": "simpler",
    "bolder|brighter|louder|more colourful|more colorful|more vibrant|vibrant|flashier|more daring|"
    "statement|less boring|punchier|more fun|bright colours|bright colors|bold|brighter colours|"
    "brighter colors": "bolder",
    "more formal|dressier|dressy|smarter|smart|fancier|fancy|classier|classy|more elegant|elegant|"
    "more sophisticated|sophisticated|more polished|dressed up|more grown up|less casual|"
    "not so casual|not too casual|more professional": "more formal -> formal",
    "more casual|less formal|not so formal|not too formal|more relaxed|relaxed|laid back|"
    "more laid back|chill|dressed down|less dressy|less smart|comfier|more comfortable|comfy|"
    "less fancy": "more casual -> casual",
}

# Words that name an attribute rather than a value ("any colour", "different fabric", "same colour").
ATTRIBUTE_WORDS = {
    "colour|color|colours|colors|colourway|colorway|shade|shades|tone|hue|coloured|colored": "color",
    "material|materials|fabric|fabrics|fibre|fiber|textile": "material",
    "pattern|patterns|print|design": "pattern",
    "type|category|product type|kind of item|item type": "category",
    "gender": "gender",
    "occasion|occasions|usage": "usage",
    "season": "season",
    "sleeve|sleeves|sleeve length": "sleeve",
    "fit": "fit",
    "length": "length",
    "brand|brands|label|designer": "brand",
    "size|sizes|sizing": "size",
    "price|prices|budget|cost|money|price limit|price cap|price range|pricing|spend|spending|"
    "max price|price max|maximum price": "price",
    "stock|availability|stock status": "stock",
}

# Cue phrases that shape how the words after (or before) them are read.
CUES = {
    "negate": "not|no|without|never|nothing|none|avoid|avoiding|except|excluding|exclude|minus|hate|"
              "dislike|dont want|do not want|dont like|do not like|dont need|not into|not keen on|"
              "anything but|everything but|anything except|anything other than|other than|"
              "anything besides|nothing in|non|skip|rather not|but not|nor|neither|no more|"
              "not a fan of|allergic to|steer clear of|stay away from|sick of|tired of|isnt|arent|"
              "wasnt|werent|dont show|dont show me|do not show|do not show me|dont give me|"
              "dont want to see|nothing thats|anything that isnt",
    "release": "forget|forget about|never mind|nevermind|dont care about|do not care about|"
               "dont mind the|no matter the|regardless of|ignore|drop|remove|lose|ditch|scrap|"
               "no need for|dont worry about|not fussed about|doesnt have to be|"
               "does not have to be|no preference on|no preference for|flexible on|open on",
    "release_tail": "doesnt matter|does not matter|dont matter|not important|is not important|"
                    "isnt important|is irrelevant|irrelevant|is no object|no object|is flexible|"
                    "flexible|is open|can be anything|is optional|optional|whatever|any|"
                    "i dont care|dont care|is not an issue|not an issue|is no issue|no issue|"
                    "is fine either way|either way",
    "same": "same|the same|keep|keep the|same as|like the|as before|unchanged",
    # "any colour", "whatever colour": a release that only applies to an attribute's name ("any in
    # mauve?" asks for mauve).
    "any": "any|whatever|any old",
    "different": "different|another|other|not this|not the same|not that|change the|new|"
                 "alternative|a new|some other|not same",
    "instead_of": "instead of|rather than|in place of|replacing|replace|replace the|swap|swap the|"
                  "swap out|swap out the|switch out|switch out the|trade the|ditch the",
    "stock": "in stock or not|out of stock|sold out|even if sold out|even if unavailable|"
             "unavailable ones|out of stock ones|backorder|back order|preorder|pre order|"
             "whether in stock|whether its in stock|in stock or out|out of stock too|"
             "including sold out|not in stock",
    "conj": "or|and|nor|plus|as well as|or even|and also",
    "but": "but|however|though|although|yet",
}

# Words carrying no request on their own. They never go through typo correction and they do not end
# a negated list ("not in any black or grey").
FILLERS = frozenset(
    "a an the this that these those it its one ones item items thing things piece pieces stuff "
    "in on of with from for to at by as into onto please pls plz plse thanks thank thx ty kindly "
    "really very so too also either just only even still bit little more much some something "
    "anything all version versions variant option options style look same like similar "
    "me my i im we us you u your yours our is are be was were been am do does did done can could "
    "would should will shall may might must have has had show find give get got see want wanted "
    "need needed looking look searching search prefer preferred ideally maybe perhaps possibly "
    "hi hello hey ok okay yes yeah yep sure cool nice great good fine lovely perfect "
    "what which who how where when why there here then than now instead rather well "
    "actually anyway anyways though hmm um umm oh ah honestly basically again".split()
)

# Plain English that typo correction must leave alone (shared with FILLERS above).
COMMON_WORDS = FILLERS | frozenset(
    "and or but not no nor if because about above below under over between around up down out off "
    "make made making wear wearing worn go going goes went come tonight today tomorrow weekend "
    "week day night time year old young big small large tiny huge nice cute pretty beautiful "
    "ugly boring love hate think know tell say said told ask asked try tried keep kept put "
    "table chair book word words rule rules system prompt reply answer output return print "
    "everything nothing anything someone something everyone people person size sizes fits "
    "proper real actual exact exactly kind sort type lot lots few many most least less "
    "cheap best better worse worst first last next other another different new same "
    "pair pairs set sets match matching matches goes go together outfit outfits wardrobe "
    "mine yours his hers ours theirs their them they he she him her ok okay wait hmm "
    "able ready sale shop store buy bought order ordered deliver delivery ship shipping "
    "catalog catalogue product products item items brand brands left right wide "
    # Comparatives and everyday adjectives that sit one or two letters from a fashion word
    # ("smaller" vs smarter, "bold" vs gold, "cool" vs wool): never "correct" them.
    "smaller bigger larger taller higher lower older newer nicer cuter softer harder thicker thinner "
    "stronger weaker faster slower easier better warmer cooler bold cool warm soft hard tall wide "
    "narrow heavy light bright dark deep pale little small medium large xl xs xxl fit fits fitting "
    "style styles styled cute sleek classic modern vintage retro trendy fashionable comfortable "
    "quality durable sturdy cheap expensive price priced cost costs money budget pounds euros "
    "dollars size sized sizes similar alike exactly same different else swap switch change "
    # Garment details: no catalog attribute, but close to one ("hood" is one letter from "hoody").
    "hood hooded zip zipper zipped pocket pockets collar collared button buttons buttoned neck "
    "neckline vneck crew round lace laced frill frills ruffle ruffles belted strap straps sole soles "
    "lining lined pleat pleats pleated wrap slit cuff cuffs hem waist waisted rise high low".split()
)


# Size words a shopper says for the letter codes catalogs list ("a medium" -> M), and what a size looks
# like when the catalog does not list it ("size 47": a size, refused by name rather than read as text).
SIZE_WORDS = {
    "extra small": "xs", "x small": "xs", "small": "s", "medium": "m", "large": "l", "extra large": "xl",
    "x large": "xl", "xx large": "xxl", "extra extra large": "xxl", "double xl": "xxl",
}
SIZE_LIKE = re.compile(r"\d{1,3}(?:\.5)?|x{0,4}[sml]|\d?x{1,4}[sl]")
# Letter sizes no English word is spelled like, matched without the word "size" ("a shirt in XL").
UNAMBIGUOUS_SIZE = re.compile(r"x{1,4}[sl]|\dx{1,3}[sl]")


@dataclass(frozen=True)
class LexiconEntry:
    """One row of a table: the surfaces and what they may mean in a catalog."""

    kind: str
    surfaces: tuple[str, ...]
    candidates: tuple[tuple[str, ...], ...]  # value bundles, most specific first
    excluded: tuple[bool, ...]               # per candidate: True means "exclude the first value"
    relative: str | None = None              # wish used when no candidate is in the catalog


def _split(spec: str) -> list[str]:
    return [s.strip() for s in spec.split("|") if s.strip()]


def parse_table(kind: str, table: dict[str, str]) -> list[LexiconEntry]:
    entries = []
    for surfaces, spec in table.items():
        spec, _, relative = spec.partition("->")
        bundles, excluded = [], []
        for cand in (c.strip() for c in spec.split(",") if c.strip()):
            excluded.append(cand.startswith("!"))
            bundles.append(tuple(v.strip() for v in cand.lstrip("!").split("+")))
        entries.append(LexiconEntry(kind, tuple(_split(surfaces)), tuple(bundles), tuple(excluded),
                                    relative.strip() or None))
    return entries


def value_entries() -> list[LexiconEntry]:
    """Every value table as entries (colours, materials, patterns, categories, ...)."""
    return [e for kind, table in KIND_TABLES.items() for e in parse_table(kind, table)]


def relative_entries() -> list[tuple[tuple[str, ...], str, str | None]]:
    """(surfaces, wish, implied occasion value or None) for every relative phrase."""
    out = []
    for surfaces, spec in RELATIVES.items():
        wish, _, implied = spec.partition("->")
        out.append((tuple(_split(surfaces)), wish.strip(), implied.strip() or None))
    return out


def attribute_word_entries() -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(_split(s)), kind) for s, kind in ATTRIBUTE_WORDS.items()]


def cue_entries() -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(_split(s)), role) for role, s in CUES.items()]
