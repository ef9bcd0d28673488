"""A generated corpus for the documents benchmark: about 1,000 files, 5 MB of text, with
questions whose answer passage is known.

Each file is a report about one site (250 sites, four files each). A site has eight
facts spread over its files, and its name also appears in ordinary paragraphs around
them, so that the site's name alone finds a dozen passages: to put the right one in the
first five, a search has to match what is asked. Each question is phrased apart from its
fact ("Who is in charge of…" for "…is managed by…"), so that matching its words alone is
not enough either. The same seed gives the same corpus, byte for byte.
"""

# The word lists read best as one string each.
# ruff: noqa: SIM905

import random
from dataclasses import dataclass

SEED = 20261207
SITES = 250
FILES_PER_SITE = 4
FACTS_PER_SITE = 8

# (fact, question): the two share the site's name and little else.
FACTS = [
    (
        "The spare keys of the {site} are kept in a locked cabinet behind the {place}.",
        "Where are the extra keys for the {site} stored?",
    ),
    (
        "Heating at the {site} is maintained by {company} under a {n}-year contract.",
        "Which firm services the radiators and the boiler at the {site}?",
    ),
    (
        "The {site} opens its doors at {hour} on weekdays.",
        "What time does the working day start at the {site}?",
    ),
    (
        "Staff of the {site} park their cars in the {colour} lot beside the {place}.",
        "Where do employees of the {site} leave their vehicles?",
    ),
    (
        "The monthly budget of the {site} is {amount} euros.",
        "How much money may the {site} spend in a month?",
    ),
    (
        "The {site} is managed by {person}.",
        "Who is in charge of the {site}?",
    ),
    (
        "Guests connect to the network named {ssid} at the {site}.",
        "What is the wireless SSID that visitors use at the {site}?",
    ),
    (
        "The {site} was founded in {year} by a group of engineers.",
        "In which year did the {site} first open?",
    ),
    (
        "Parcels for the {site} are delivered through the {side} entrance.",
        "Which door do couriers use when they bring packages to the {site}?",
    ),
    (
        "The {site} employs {people} people across two shifts.",
        "How large is the workforce of the {site}?",
    ),
    (
        "Visitors of the {site} sign in with {person} at reception.",
        "Whom should a guest report to on arrival at the {site}?",
    ),
    (
        "On Fridays the canteen of the {site} serves {dish}.",
        "What is on the lunch menu at the end of the week at the {site}?",
    ),
    (
        "Evacuation drills at the {site} are held every {month}.",
        "In which month does the {site} practise leaving the building in an emergency?",
    ),
    (
        "Waste paper from the {site} is collected by {company}.",
        "Which firm takes away the recycling of the {site}?",
    ),
    (
        "Laptops at the {site} are replaced every {n} years.",
        "How often do the computers of the {site} get renewed?",
    ),
    (
        "The nearest railway station to the {site} is {station}.",
        "Which train stop is closest to the {site}?",
    ),
]

_START = "Ash Bren Cal Dun Elm Far Gal Hol Ives Kes Lin Mor Nor Ost Pen Quar Ros Sel".split()
_START += "Tam Ulv Ver Wen Yar Zel".split()
_END = "bury moor field ford gate haven holm ley mouth stead thorpe wick".split()
_KINDS = "depot laboratory clinic plant warehouse studio branch office".split()
_PLACES = "reception desk,server room,loading bay,main staircase,kitchen,print room".split(",")
_COMPANIES = "Nordvarme,Calor Services,Brightwell,Fenwick & Sons,Aldgate Facilities,Tervo Oy".split(
    ","
)
_PEOPLE = (
    "Ingrid Halvorsen,Tomasz Kowal,Amara Okafor,Lucía Romero,Henrik Dahl,Mei Tanaka,"
    "Olusegun Adeyemi,Claire Dubois,Rafael Costa,Sanna Virtanen,Jonas Berg,Priya Nair"
).split(",")
_DISHES = "fish soup,mushroom risotto,lentil curry,roast chicken,potato pancakes,paella".split(",")
_MONTHS = (
    "January February March April May June July August September October November December".split()
)
_STATIONS = "North Junction,Old Harbour,Market Street,University,Riverside,Central Halt".split(",")
_COLOURS = "blue green red yellow grey white".split()
_SIDES = "north south east west rear side".split()

_SUBJECTS = [
    "The team",
    "Our group",
    "The steering committee",
    "Management",
    "The night shift",
    "A working party",
    "The quality circle",
    "The new intern",
    "Finance",
    "The safety officer",
]
_VERBS = [
    "reviewed",
    "discussed",
    "postponed",
    "approved",
    "questioned",
    "summarised",
    "drafted",
    "presented",
    "revised",
    "circulated",
]
_OBJECTS = [
    "the quarterly roadmap",
    "the onboarding checklist",
    "the supplier survey",
    "the accessibility audit",
    "the migration of the archive",
    "the training calendar",
    "the energy report",
    "the customer feedback summary",
    "the inventory reconciliation",
    "the draft of the style guide",
    "the upgrade of the meeting rooms",
    "the travel policy",
]
_TAILS = [
    "after a long debate about priorities",
    "with a few open questions left for next week",
    "and asked for clearer figures",
    "before the holiday break",
    "while waiting for the vendor's reply",
    "in a short call on Tuesday",
    "with help from the regional coordinators",
    "and agreed to revisit it in the spring",
    "although several people were travelling",
    "following comments from the works council",
]
_TOPICS = "Weekly notes,Site report,Minutes,Operations summary,Status update,Handover notes".split(
    ","
)


@dataclass(frozen=True)
class Question:
    text: str
    answer: str  # the fact sentence; the passage that holds it is the right one
    document: str  # the file it is in


@dataclass(frozen=True)
class CorpusFile:
    name: str
    text: str


@dataclass(frozen=True)
class Corpus:
    files: list[CorpusFile]
    questions: list[Question]  # one per fact: `sample` picks those a run asks

    @property
    def size(self) -> int:
        return sum(len(f.text.encode()) for f in self.files)


def generate(*, sites: int = SITES, seed: int = SEED) -> Corpus:
    """The corpus: FILES_PER_SITE files for each site, and a question for each fact."""
    rng = random.Random(seed)
    names = [f"{start}{end}" for start in _START for end in _END]
    rng.shuffle(names)
    files, facts = [], []
    for number in range(sites):
        site = f"{names[number]} {rng.choice(_KINDS)}"
        chosen = rng.sample(FACTS, FACTS_PER_SITE)
        per_file = FACTS_PER_SITE // FILES_PER_SITE
        for index in range(FILES_PER_SITE):
            name = f"{names[number].lower()}-{index + 1}.{'md' if index % 2 else 'txt'}"
            mine = chosen[index * per_file : (index + 1) * per_file]
            sentences = [_fill(fact, site, rng) for fact, _ in mine]
            files.append(CorpusFile(name, _report(site, sentences, rng, markdown=index % 2 == 1)))
            facts += [
                # A question names the site only: the values are what it asks for.
                Question(question.format(site=site), sentence, name)
                for (_, question), sentence in zip(mine, sentences, strict=True)
            ]
    return Corpus(files, facts)


def sample(questions: list[Question], files: list[CorpusFile], count: int) -> list[Question]:
    """`count` of the questions about these files, the same ones every time."""
    names = {file.name for file in files}
    about = [question for question in questions if question.document in names]
    return random.Random(SEED).sample(about, min(count, len(about)))


def _values(rng: random.Random) -> dict:
    return {
        "place": rng.choice(_PLACES),
        "company": rng.choice(_COMPANIES),
        "n": rng.randint(2, 6),
        "hour": f"{rng.randint(6, 9)}:{rng.choice(['00', '15', '30', '45'])}",
        "colour": rng.choice(_COLOURS),
        "amount": f"{rng.randint(12, 480) * 100:,}",
        "person": rng.choice(_PEOPLE),
        "ssid": f"{rng.choice(_START).upper()}-GUEST-{rng.randint(10, 99)}",
        "year": rng.randint(1952, 2019),
        "side": rng.choice(_SIDES),
        "people": rng.randint(12, 900),
        "dish": rng.choice(_DISHES),
        "month": rng.choice(_MONTHS),
        "station": rng.choice(_STATIONS),
    }


def _fill(template: str, site: str, rng: random.Random) -> str:
    return template.format(site=site, **_values(rng))


def _paragraph(site: str, rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 6)):
        subject = rng.choice(_SUBJECTS)
        if rng.random() < 0.15:
            subject = f"{subject} of the {site}"
        sentences.append(
            f"{subject} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
        )
    return " ".join(sentences)


def _report(site: str, facts: list[str], rng: random.Random, *, markdown: bool) -> str:
    """A file of 1.3 to 8 KB: ordinary paragraphs with the facts among them."""
    target = rng.randint(1300, 8200)
    paragraphs = []
    while sum(len(p) for p in paragraphs) < target:
        paragraphs.append(_paragraph(site, rng))
    for fact in facts:
        paragraphs.insert(rng.randint(0, len(paragraphs)), fact)
    title = f"{rng.choice(_TOPICS)}: {site}"
    heading = f"# {title}\n\n" if markdown else f"{title}\n\n"
    return heading + "\n\n".join(paragraphs) + "\n"
