"""Reference tables the synthetic population is drawn from: places, people, vehicles and events.

Plain data, weighted where the weight matters (towns by population, vehicles by how common they are), so the
generator's code holds no lists. Names and street suffixes come from Faker's en_GB providers, read once.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from faker.providers.address.en_GB import Provider as _FakerAddress
from faker.providers.person.en_GB import Provider as _FakerPerson

from openrms.demo.synthetic.draws import Weighted

# fmt: off
# --- places -------------------------------------------------------------------------------------------------
# (post town, weight, latitude, longitude, postcode districts)
TOWNS: tuple[tuple[str, float, float, float, tuple[str, ...]], ...] = (
    ("Leeds", 30, 53.800, -1.549, tuple(f"LS{n}" for n in (*range(1, 18), 25, 26, 27))),
    ("Bradford", 20, 53.795, -1.759, tuple(f"BD{n}" for n in range(1, 16))),
    ("Huddersfield", 10, 53.645, -1.785, ("HD1", "HD2", "HD3", "HD4", "HD5", "HD7", "HD8", "HD9")),
    ("Wakefield", 9, 53.683, -1.499, ("WF1", "WF2", "WF3", "WF4")),
    ("Halifax", 7, 53.721, -1.862, ("HX1", "HX2", "HX3", "HX4", "HX5")),
    ("Keighley", 3, 53.867, -1.911, ("BD20", "BD21", "BD22")),
    ("Dewsbury", 3, 53.691, -1.633, ("WF12", "WF13")),
    ("Batley", 2, 53.716, -1.636, ("WF17",)),
    ("Castleford", 2, 53.725, -1.362, ("WF10",)),
    ("Pontefract", 2, 53.691, -1.312, ("WF8", "WF9")),
    ("Shipley", 2, 53.833, -1.777, ("BD17", "BD18")),
    ("Pudsey", 1.5, 53.796, -1.663, ("LS28",)),
    ("Brighouse", 1.5, 53.703, -1.782, ("HD6",)),
    ("Ossett", 1, 53.680, -1.580, ("WF5",)),
    ("Normanton", 1, 53.698, -1.416, ("WF6",)),
    ("Otley", 1, 53.905, -1.691, ("LS21",)),
    ("Ilkley", 1, 53.925, -1.822, ("LS29",)),
    ("Bingley", 1, 53.848, -1.838, ("BD16",)),
    ("Sowerby Bridge", 1, 53.708, -1.907, ("HX6",)),
    ("Mirfield", 0.8, 53.675, -1.693, ("WF14",)),
    ("Liversedge", 0.8, 53.707, -1.690, ("WF15",)),
    ("Hebden Bridge", 0.5, 53.742, -2.012, ("HX7",)),
)
DIALLING = {"Leeds": "113", "Pudsey": "113", "Bradford": "1274", "Shipley": "1274", "Bingley": "1274",
            "Huddersfield": "1484", "Brighouse": "1484", "Halifax": "1422", "Sowerby Bridge": "1422",
            "Hebden Bridge": "1422", "Keighley": "1535", "Otley": "1943", "Ilkley": "1943",
            "Castleford": "1977", "Pontefract": "1977"}  # the rest: 1924 (Wakefield, Dewsbury, Batley...)
_UK_STREET_SUFFIXES = {"Avenue", "Court", "Crescent", "Drive", "Gardens", "Green", "Grove", "Hill", "Lane",
                       "Mews", "Mount", "Park", "Place", "Road", "Row", "Square", "Street", "Terrace", "View",
                       "Walk", "Way", "Fields", "Meadows", "Vale", "Bank", "Close"}
_LOCAL_SUFFIXES = ("Close", "Fold", "Rise", "Gate", "Bank", "Croft", "Garth")  # Yorkshire, not in Faker
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
BIRTHPLACES_UK = ("London", "Manchester", "Sheffield", "Birmingham", "Liverpool", "Newcastle upon Tyne",
                  "York", "Hull", "Doncaster", "Glasgow", "Nottingham", "Middlesbrough", "Barnsley",
                  "Rotherham")

# --- people -------------------------------------------------------------------------------------------------
NATIONALITIES = (("GBR", 88.0), ("POL", 2.5), ("PAK", 2.0), ("ROU", 1.5), ("IND", 1.0), ("IRL", 0.8),
                 ("LTU", 0.6), ("NGA", 0.5), ("ITA", 0.4), ("PRT", 0.4), ("SVK", 0.4), ("CZE", 0.3),
                 ("ERI", 0.3), ("IRQ", 0.3), ("SYR", 0.3), ("UKR", 0.3), ("ZWE", 0.2), ("CHN", 0.2),
                 ("XXX", 0.1))
FOREIGN_BIRTHPLACES = {"POL": ("Warsaw", "Krakow", "Wroclaw"), "PAK": ("Mirpur", "Lahore", "Karachi"),
                       "ROU": ("Bucharest", "Cluj-Napoca"), "IND": ("Amritsar", "Mumbai", "Delhi"),
                       "IRL": ("Dublin", "Cork"), "LTU": ("Vilnius", "Kaunas"), "NGA": ("Lagos", "Abuja"),
                       "ITA": ("Naples", "Rome"), "PRT": ("Lisbon", "Porto"), "SVK": ("Kosice", "Bratislava"),
                       "CZE": ("Ostrava", "Prague"), "ERI": ("Asmara",), "IRQ": ("Baghdad", "Erbil"),
                       "SYR": ("Aleppo", "Damascus"), "UKR": ("Kyiv", "Lviv"), "ZWE": ("Harare", "Bulawayo"),
                       "CHN": ("Shanghai", "Guangzhou"), "XXX": ("Unknown",)}
ETHNICITIES = (("W1", 73.0), ("W2", 0.5), ("W3", 0.2), ("W9", 2.5), ("A1", 2.0), ("A2", 11.0), ("A3", 0.8),
               ("A4", 0.5), ("A5", 1.0), ("B1", 0.6), ("B2", 1.2), ("B3", 0.3), ("M1", 1.2), ("M2", 0.3),
               ("M3", 0.9), ("M4", 0.6), ("O1", 0.3), ("O2", 0.8), ("NS", 2.3))
NATIONALITY_ETHNICITY = {"POL": "W9", "ROU": "W9", "LTU": "W9", "ITA": "W9", "PRT": "W9", "SVK": "W9",
                          "CZE": "W9", "UKR": "W9", "IRL": "W2", "PAK": "A2", "IND": "A1", "NGA": "B2",
                          "ZWE": "B2", "ERI": "B2", "IRQ": "O2", "SYR": "O1", "CHN": "A4"}
OFFICER_ETHNICITY = {"W": "IC1", "W9": "IC2", "A": "IC4", "A4": "IC5", "B": "IC3", "M": "IC3", "O": "IC6",
                     "N": "IC9"}  # by self-defined code, else by its first letter
SOUTH_ASIAN_SURNAMES = ("Ahmed", "Akhtar", "Ali", "Hussain", "Iqbal", "Khan", "Mahmood", "Miah", "Mistry",
                        "Patel", "Rahman", "Shah", "Singh")  # all in Faker's en_GB list
OCCUPATIONS = ("Unemployed", "Unemployed", "Student", "Retired", "Labourer", "Warehouse operative",
               "Care worker", "Nurse", "Teacher", "Taxi driver", "Delivery driver", "Shop assistant", "Chef",
               "Bar staff", "Electrician", "Plumber", "Joiner", "Mechanic", "Office administrator",
               "Accountant", "Software developer", "Cleaner", "Hairdresser", "Security officer",
               "Self-employed", "Bus driver", "Postal worker", "Call centre adviser", "Factory worker",
               "Civil servant")
MARKERS = (("VI", 30), ("WE", 14), ("DR", 18), ("MH", 12), ("SE", 8), ("SU", 6), ("AG", 4), ("ES", 3),
           ("GR", 6), ("FI", 2), ("CO", 1), ("IM", 2))
HAIR = ("black", "brown", "dark brown", "light brown", "blonde", "ginger", "grey", "white", "shaved", "bald")
EYES = ("brown", "blue", "green", "hazel", "grey")
BUILDS = (("THIN", 8), ("SLIM", 22), ("MEDIUM", 35), ("STOCKY", 15), ("LARGE", 12), ("MUSCULAR", 8))
MARKS = ("Tattoo of a rose on left forearm", "Tattoo 'MUM' on right hand", "Scar above left eye",
         "Scar on right cheek", "Tattoo of a dragon on back", "Sleeve tattoo on right arm", "Pierced eyebrow",
         "Tattoo of a name on neck", "Missing front tooth", "Birthmark on left hand",
         "Tattoo of stars on wrist")
FREE_MAIL = ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com", "icloud.com",
             "live.co.uk", "sky.com", "hotmail.com")
NI_FIRST, NI_SECOND = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
NI_UNALLOCATED = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")  # prefixes never issued

# --- vehicles -----------------------------------------------------------------------------------------------
VEHICLES = (("Ford", "Fiesta", "CAR", 12), ("Ford", "Focus", "CAR", 8), ("Ford", "Transit", "VAN", 5),
            ("Vauxhall", "Corsa", "CAR", 9), ("Vauxhall", "Astra", "CAR", 6),
            ("Volkswagen", "Golf", "CAR", 7), ("Volkswagen", "Polo", "CAR", 5), ("BMW", "3 Series", "CAR", 4),
            ("Audi", "A3", "CAR", 4), ("Nissan", "Qashqai", "CAR", 5), ("Toyota", "Yaris", "CAR", 4),
            ("Mercedes-Benz", "C-Class", "CAR", 3),
            ("Kia", "Sportage", "CAR", 3), ("Hyundai", "Tucson", "CAR", 2), ("Peugeot", "208", "CAR", 3),
            ("Renault", "Clio", "CAR", 3), ("Honda", "Civic", "CAR", 2), ("MINI", "Hatch", "CAR", 2),
            ("Skoda", "Octavia", "CAR", 2), ("Land Rover", "Range Rover Evoque", "CAR", 1),
            ("Citroen", "Berlingo", "VAN", 2), ("Yamaha", "NMAX 125", "MOTORCYCLE", 1),
            ("Honda", "CBR125R", "MOTORCYCLE", 1))
WMI = {"Ford": "WF0", "Vauxhall": "W0L", "Volkswagen": "WVW", "BMW": "WBA", "Audi": "WAU", "Nissan": "SJN",
       "Toyota": "SB1", "Mercedes-Benz": "WDD", "Kia": "KNA", "Hyundai": "TMA", "Peugeot": "VF3",
       "Renault": "VF1", "Honda": "SHH", "MINI": "WMW", "Skoda": "TMB", "Land Rover": "SAL", "Citroen": "VF7",
       "Yamaha": "JYA"}  # world manufacturer identifiers: the first 3 characters of a VIN
COLOURS = (("BLACK", 18), ("WHITE", 16), ("SILVER", 14), ("GREY", 16), ("BLUE", 14), ("RED", 10),
           ("GREEN", 2), ("ORANGE", 1), ("BROWN", 1), ("BEIGE", 1), ("YELLOW", 1), ("GOLD", 1), ("PURPLE", 1))
PLATE_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXYZ"  # no I or Q
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O or Q

# --- events -------------------------------------------------------------------------------------------------
SUITES = {"LD": "Elland Road custody suite, Leeds", "BD": "Trafalgar House custody suite, Bradford",
          "KD": "Huddersfield custody suite", "CD": "Halifax custody suite",
          "WD": "Havertop custody suite, Wakefield"}
SUITE_OF = {"Bradford": "BD", "Keighley": "BD", "Shipley": "BD", "Bingley": "BD", "Huddersfield": "KD",
             "Dewsbury": "KD", "Batley": "KD", "Mirfield": "KD", "Liversedge": "KD", "Halifax": "CD",
             "Brighouse": "CD", "Sowerby Bridge": "CD", "Hebden Bridge": "CD", "Wakefield": "WD",
             "Castleford": "WD", "Pontefract": "WD", "Ossett": "WD", "Normanton": "WD"}  # the rest: LD
# CJS-format offence codes and the reason for arrest per crime type (illustrative codes, format-valid)
OFFENCES: dict[str, tuple[tuple[str, ...], str]] = {
    "VIOLENCE_SEXUAL": (("CJ88116", "OF61016", "OF61102", "PH97003"), "Suspicion of assault"),
    "ROBBERY": (("TH68001",), "Suspicion of robbery"),
    "THEFT_FROM_THE_PERSON": (("TH68012",), "Suspicion of theft from the person"),
    "BURGLARY": (("TH68036", "TH68037"), "Suspicion of burglary of a dwelling"),
    "VEHICLE_CRIME": (("TH68046", "TH68057"), "Suspicion of theft of / from a motor vehicle"),
    "BICYCLE_THEFT": (("TH68024",), "Suspicion of theft of a pedal cycle"),
    "CRIMINAL_DAMAGE_ARSON": (("CD71001", "CD71036"), "Suspicion of criminal damage"),
    "OTHER_THEFT": (("TH68023",), "Suspicion of theft"),
    "SHOPLIFTING": (("TH68010",), "Suspicion of theft from a shop"),
    "DRUGS": (("MD71101", "MD71230", "MD71530"), "Suspicion of possession with intent to supply"),
    "POSSESSION_OF_WEAPONS": (("CJ88112", "PU53001"), "Suspicion of possession of a bladed article"),
    "PUBLIC_ORDER": (("PU86003", "PU86004", "PU86014"), "Suspicion of a public order offence"),
    "OTHER_CRIME": (("CJ03510", "PC53001"), "Suspicion of breach of a court order"),
}
DISPOSALS = (("RUI", 28), ("CHARGED", 22), ("NFA", 18), ("BAIL", 12), ("CAUTION", 8), ("REMANDED", 4),
             ("CONDITIONAL_CAUTION", 3), ("PENALTY_NOTICE", 3), ("TRANSFERRED", 2))
INTEL_THEMES = (
    "Subject is believed to be supplying {drug} in the {town} area, taking orders by phone.",
    "Subject is reported to carry a knife when in {town} town centre at night.",
    "Subject is associating with nominals involved in acquisitive crime in {town}.",
    "Subject is believed to be storing stolen property at an address in {town}.",
    "Subject is reported to be at risk of criminal exploitation by older associates in {town}.",
    "Subject has been seen regularly visiting an address in {town} linked to cannabis cultivation.",
)
INTEL_VEHICLE = "Subject is using vehicle {vrm} between {town} and other towns, believed to supply drugs."
DRUGS = ("cannabis", "cocaine", "heroin", "crack cocaine")
LEGACY_BEFORE = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)  # reports before this keep their 5x5x5 grading
LEGACY_SOURCE = {"A": "1", "B": "1", "C": "2", "D": "3", "E": "2"}  # 5x5x5 -> 3x5x2 (check)
LEGACY_INTELLIGENCE = {"1": "A", "2": "A", "3": "B", "4": "C", "5": "E"}
LEGACY_CONDITIONS = {  # 5x5x5 handling codes 3-5 become handling code C with these conditions
    "3": "May be shared with non-EU law enforcement agencies only with the originator's agreement.",
    "4": "Originating agency only: contact the Force Intelligence Bureau before any dissemination.",
    "5": "No further dissemination without reference to the originator.",
}
CONDITIONS = ("Not to be disseminated outside UK law enforcement without reference to the originator.",
              "Share with partner agencies only for safeguarding purposes; do not disclose to the subject.",
              "Originating agency only: contact the Force Intelligence Bureau before any action.")
STOP_LEGISLATION = (("MDA_S23", 55), ("PACE_S1", 35), ("CJPOA_S60", 5), ("FIREARMS_S47", 3), ("OTHER", 2))
STOP_OBJECT = {"MDA_S23": ("DRUGS",), "PACE_S1": ("STOLEN_GOODS", "WEAPONS", "ARTICLES_FOR_CRIME"),
               "CJPOA_S60": ("WEAPONS",), "FIREARMS_S47": ("FIREARMS",), "OTHER": ("OTHER",)}
STOP_GROUNDS = {"DRUGS": "Strong smell of cannabis; seen exchanging small packages in {street}.",
                "STOLEN_GOODS": "Matched the description of a suspect for a theft just before in {street}.",
                "WEAPONS": "Seen adjusting a heavy item in waistband; known knife carrying in {street}.",
                "ARTICLES_FOR_CRIME": "Seen trying car door handles in {street} carrying a screwdriver.",
                "FIREARMS": "Information received of a person with a firearm in {street}.",
                "OTHER": "Behaviour consistent with concealing prohibited articles in {street}."}
STOP_OUTCOMES = (("NFA", 70), ("ARREST", 12), ("COMMUNITY_RESOLUTION", 8), ("KHAT_CANNABIS_WARNING", 5),
                 ("PENALTY_NOTICE", 2), ("SUMMONS", 2), ("CAUTION", 1))
SAFEGUARDING = {  # concern type -> (referred to, action taken)
    "CHILD_ABUSE": ("Children's Social Care", "Strategy discussion held; child visited and seen alone."),
    "CHILD_EXPLOITATION": ("Children's Social Care (exploitation team)",
                           "Risk assessment completed; referred to the multi-agency exploitation meeting."),
    "MISSING_CHILD": ("Missing person coordinator", "Return home interview requested."),
    "DOMESTIC_ABUSE": ("IDVA service", "DASH risk assessment completed; safety advice given."),
    "MENTAL_HEALTH": ("Mental health crisis team", "Person taken to a place of safety and assessed."),
    "ADULT_AT_RISK": ("Adult Social Care", "Welfare visit completed; referral made."),
    "MODERN_SLAVERY": ("National Referral Mechanism", "First responder referral submitted."),
}
# fmt: on


@cache
def name_pools() -> dict[str, Any]:
    """Name pools from Faker's en_GB person provider; earlier (more common) forenames weigh more."""
    male, female = list(_FakerPerson.first_names_male), list(_FakerPerson.first_names_female)
    surnames = list(_FakerPerson.last_names.items())  # with Faker's frequency weights
    return {
        "M": Weighted([(n, 1 / (rank + 12)) for rank, n in enumerate(male)]),
        "F": Weighted([(n, 1 / (rank + 12)) for rank, n in enumerate(female)]),
        "surname": Weighted(surnames),
        "surname_list": [n for n, _ in surnames],
        "male": male,
        "female": female,
    }


@cache
def street_suffixes() -> tuple[str, ...]:
    """Faker en_GB's street suffixes that British streets use, plus a few Yorkshire ones."""
    faker = tuple(dict.fromkeys(s for s in _FakerAddress.street_suffixes if s in _UK_STREET_SUFFIXES))
    return faker + tuple(s for s in _LOCAL_SUFFIXES if s not in faker)
