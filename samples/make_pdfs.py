#!/usr/bin/env python3
"""Render the SAMPLE PDF documents of the fictional Harbour Lane Laser & Skin Clinic.

Every document below is a SAMPLE written for a software demonstration
(a question-answering project). The clinic, its staff, address and phone
numbers are invented. Nothing here is medical advice.

The text of each PDF lives in the DOCUMENTS list as structured data
(title, sections with headings, paragraphs, bullet lists and tables) and is
rendered with reportlab platypus into ../documents/.  Output is generated
with reportlab's "invariant" mode so that re-running gives identical files.

Usage:
    .venv/bin/python samples/make_pdfs.py [output_dir]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

CLINIC = "Harbour Lane Laser & Skin Clinic"
HEADER_TEXT = "Harbour Lane Laser & Skin Clinic \u2014 SAMPLE document of a fictional clinic"
AUTHOR = "Harbour Lane Laser & Skin Clinic (fictional)"

SAMPLE_NOTICE = (
    "**About this document:** This is a SAMPLE document of a fictional clinic, "
    "Harbour Lane Laser & Skin Clinic, written for a software demonstration. "
    "It is not medical advice. The clinic, its staff, its address and its phone "
    "numbers are invented. Please talk to a qualified dermatologist or doctor "
    "about your own skin and health."
)

CONTACT_BLOCK = [
    "Harbour Lane Laser & Skin Clinic, 12 Harbour Lane, Suite 3, Port Ellis. "
    "Main phone: 555-0100. Email: hello@harbourlane-clinic.example. "
    "Medical director: Dr. Maya Okafor, dermatologist.",
    "Opening hours: Monday to Friday 8:00\u201318:00, Saturday 9:00\u201314:00, "
    "closed Sundays and public holidays. "
    "Urgent after-treatment line (24 hours, on-call nurse): 555-0199.",
]


# ---------------------------------------------------------------------------
# Small constructors for the document structure
# ---------------------------------------------------------------------------


def P(text: str) -> dict:
    """A normal paragraph. **bold** is allowed."""
    return {"type": "p", "text": text}


def H3(text: str) -> dict:
    """A sub-heading inside a section."""
    return {"type": "h3", "text": text}


def B(*items: str) -> dict:
    """A bullet list."""
    return {"type": "bullets", "items": list(items)}


def T(rows: list[list[str]], widths: list[float]) -> dict:
    """A table; the first row is the header. widths are fractions of the frame."""
    return {"type": "table", "rows": rows, "widths": widths}


def NOTE(text: str) -> dict:
    """A boxed, emphasised paragraph."""
    return {"type": "note", "text": text}


def S(heading: str, *body: dict, keep: bool = False) -> dict:
    """A section with a level-2 heading. keep=True keeps the whole section on one page."""
    return {"heading": heading, "body": list(body), "keep": keep}


# ---------------------------------------------------------------------------
# 1. Treatment options
# ---------------------------------------------------------------------------

TREATMENT_OPTIONS = {
    "file": "treatment-options.pdf",
    "title": "Laser Resurfacing Treatment Options",
    "subtitle": "Fully ablative, fractional ablative and non-ablative lasers explained",
    "sections": [
        S(
            "How Laser Resurfacing Works",
            P(
                "Laser skin resurfacing uses a concentrated beam of light to improve the "
                "look and feel of the skin. The laser energy is absorbed by water in the "
                "skin and turns into heat. Depending on the laser, that heat either removes "
                "(vaporises) thin layers of skin or warms the deeper layer without breaking "
                "the surface. In both cases the skin responds with a wound-healing process: "
                "new, smoother surface cells grow in, and the deeper layer of the skin (the "
                "dermis) makes new collagen over the following months. That is why results "
                "keep improving for several months after a treatment."
            ),
            P("Lasers used for resurfacing are grouped by how much of the skin they remove:"),
            B(
                "**Ablative lasers** remove the outer layer of skin (the epidermis) and heat "
                "the dermis underneath. They give the strongest results from a single "
                "treatment but need the most recovery time, often called downtime.",
                "**Non-ablative lasers** heat the dermis without removing the surface. "
                "Recovery is quick, but a series of treatments is usually needed and the "
                "improvement from each session is more modest.",
                "**Fractional lasers**, which can be ablative or non-ablative, treat the skin "
                "in a pattern of tiny columns and leave bridges of untreated skin in between. "
                "The untreated skin helps the treated areas heal faster.",
            ),
            P(
                "At Harbour Lane Laser & Skin Clinic, our medical director Dr. Maya Okafor, a "
                "dermatologist, or one of our trained clinicians recommends a laser after "
                "looking at your skin, your skin type, your goals and how much downtime you "
                "can take. The sections below describe each option we offer."
            ),
        ),
        S(
            "Fully Ablative CO2 Laser (10,600 nm)",
            P(
                "The carbon dioxide (CO2) laser has a wavelength of 10,600 nanometres. Its "
                "energy is absorbed by the water in skin cells, which vaporises the outer "
                "layers and heats the dermis below. The heat makes existing collagen contract "
                "and triggers the production of new collagen. Fully ablative CO2 resurfacing "
                "treats the entire surface of the chosen area and is the most powerful "
                "resurfacing option we offer."
            ),
            P(
                "**What it treats:** moderate to deep wrinkles, including the fine vertical "
                "lines around the mouth and the creases around the eyes; marked sun damage "
                "with rough texture and uneven tone; some acne scars and other scars; and "
                "mild loosening of the skin. Because the damaged surface is removed, brown "
                "spots and blotchy pigment often improve as well."
            ),
            P(
                "**Number of sessions:** a fully ablative CO2 treatment is typically done "
                "once. The results are long-lasting, although the skin continues to age and "
                "new sun exposure causes new damage over time. A repeat treatment, if it is "
                "ever needed, is usually not considered for a year or more."
            ),
            P(
                "**Downtime:** this is the longest recovery of any option. The treated skin "
                "is raw, oozes and then crusts, and it typically takes 7 to 14 days for new "
                "skin to grow over the surface, a stage called re-epithelialization. "
                "Pinkness usually lasts 2 to 3 months and sometimes up to 6 months. Fully "
                "ablative CO2 treatment is done with nerve blocks and oral medication for "
                "comfort, and it is generally best suited to lighter skin types."
            ),
        ),
        S(
            "Fully Ablative Erbium:YAG Laser (2,940 nm)",
            P(
                "The erbium:YAG (Er:YAG) laser has a wavelength of 2,940 nanometres, which "
                "water absorbs much more strongly than the CO2 wavelength. This lets the "
                "laser remove very thin, precise layers of skin with less heat spreading into "
                "the surrounding tissue. Less heat means less redness and a shorter recovery "
                "than CO2, but usually a little less skin tightening."
            ),
            P(
                "**What it treats:** fine to moderate wrinkles, sun damage, uneven texture, "
                "shallow to moderate acne scars and brown spots. The depth can be adjusted, "
                "so the same laser can give a light erbium peel or a deeper resurfacing. "
                "Because it produces less heat, Er:YAG resurfacing can be an option for some "
                "people with medium skin tones, with careful settings and preparation."
            ),
            P(
                "**Number of sessions:** usually a single treatment. Lighter erbium peels are "
                "sometimes repeated once or twice, a few months apart, to build up the effect."
            ),
            P(
                "**Downtime:** healing of the surface typically takes 5 to 10 days, depending "
                "on the depth. Redness usually fades over several weeks, often sooner than "
                "after CO2 resurfacing."
            ),
        ),
        S(
            "Fractional Ablative CO2 and Erbium Lasers",
            P(
                "Fractional ablative lasers use the same CO2 or erbium wavelengths, but the "
                "beam is divided into many microscopic columns. Each column removes a tiny "
                "channel of skin and heats the tissue around it, while the skin between the "
                "columns is left intact. The clinician chooses how deep the columns go and "
                "what percentage of the skin is treated, known as the density. The untreated "
                "skin acts as a reservoir for healing, so recovery is much faster than after "
                "fully ablative resurfacing and the risk of long-term side effects, such as "
                "loss of pigment, is lower."
            ),
            P(
                "**What it treats:** wrinkles and fine lines, acne scars (especially rolling "
                "and boxcar scars), surgical and injury scars, sun damage, rough texture, "
                "enlarged-looking pores and some uneven pigment. With conservative settings, "
                "fractional ablative lasers can also be used on the neck, chest and hands, "
                "where fully ablative treatment carries more risk."
            ),
            P(
                "**Number of sessions:** often one to three sessions, spaced several weeks to "
                "a few months apart; deep acne scars may need more. Fractional CO2 generally "
                "gives more tightening per session than fractional erbium, while fractional "
                "erbium tends to heal a little faster."
            ),
            P(
                "**Downtime:** about 5 to 7 days of visible healing, with swelling, tiny "
                "crusts, flaking and a bronzed look to the skin. Redness typically lasts 2 to "
                "4 weeks and can be covered with makeup once the skin has healed."
            ),
        ),
        S(
            "Non-Ablative Fractional 1,550 nm (Erbium-Glass) Laser",
            P(
                "The 1,550 nm erbium-glass laser is a non-ablative fractional laser. It heats "
                "microscopic columns in the dermis without removing the surface of the skin. "
                "The body then replaces the treated columns and builds new collagen. Because "
                "the surface stays intact, there are no open wounds, and most people return "
                "to work within a day or two."
            ),
            P(
                "**What it treats:** fine lines, mild to moderate acne scars, uneven texture, "
                "enlarged-looking pores, mild sun damage and brown spots. It can sometimes "
                "help melasma, but melasma can also get worse after laser treatment, so it is "
                "assessed carefully first. The non-ablative fractional laser is the option we "
                "most often recommend for darker skin types (Fitzpatrick IV to VI), usually "
                "at lower densities with more time between sessions, because it carries a "
                "lower risk of pigment changes."
            ),
            P(
                "**Number of sessions:** typically a series of 3 to 5 sessions spaced about "
                "4 weeks apart; acne scars sometimes need more. Results build gradually over "
                "the series and continue to improve for several months after the last session."
            ),
            P(
                "**Downtime:** usually 1 to 3 days of redness and swelling, similar to a "
                "sunburn. Over the next few days the skin may look slightly bronzed, feel "
                "rough and dry, and flake off. Makeup can usually be worn the next day."
            ),
        ),
        S(
            "Comparing Results and Recovery",
            P(
                "The table below summarises the options. The times are typical ranges; your "
                "own recovery depends on the depth and density of the treatment, the area "
                "treated and how your skin heals."
            ),
            T(
                [
                    ["Laser", "Wavelength", "Typical sessions", "Visible healing (downtime)", "Redness"],
                    [
                        "Fully ablative CO2",
                        "10,600 nm",
                        "Usually 1",
                        "7\u201314 days",
                        "2\u20133 months, sometimes up to 6",
                    ],
                    ["Fully ablative Er:YAG", "2,940 nm", "Usually 1", "5\u201310 days", "Several weeks"],
                    [
                        "Fractional ablative CO2 or erbium",
                        "10,600 or 2,940 nm",
                        "Often 1\u20133",
                        "About 5\u20137 days",
                        "2\u20134 weeks",
                    ],
                    [
                        "Non-ablative fractional (erbium-glass)",
                        "1,550 nm",
                        "Typically 3\u20135",
                        "1\u20133 days",
                        "1\u20133 days",
                    ],
                ],
                [0.25, 0.16, 0.16, 0.2, 0.23],
            ),
            P(
                "In general, the deeper the treatment, the bigger the improvement from one "
                "session and the longer the recovery. Non-ablative treatments trade a smaller "
                "improvement per session for very little downtime. Detailed recovery "
                "schedules are in our document \u201cAftercare: Day by Day\u201d."
            ),
        ),
        S(
            "Matching a Laser to Your Concern",
            P(
                "Most people come to us with one main concern. As a rough guide, these are "
                "the lasers we usually consider first for each:"
            ),
            B(
                "**Deep wrinkles around the mouth and eyes:** fully ablative CO2 or Er:YAG, or "
                "a deeper fractional ablative treatment.",
                "**Acne scars:** fractional ablative CO2 or erbium for deeper scars; "
                "non-ablative 1,550 nm for milder scars or darker skin types. Narrow, deep "
                "ice-pick scars often need additional techniques such as subcision or a "
                "focal chemical peel.",
                "**Sun damage and rough texture:** any of the options, depending on severity "
                "and how much downtime you can take.",
                "**Brown spots and uneven pigment:** ablative and non-ablative fractional "
                "lasers can help, although a dedicated pigment laser or intense pulsed light "
                "is sometimes the better choice.",
                "**Fine lines and dull texture with minimal downtime:** non-ablative 1,550 nm.",
            ),
        ),
        S(
            "What Laser Resurfacing Cannot Do",
            P(
                "Laser resurfacing improves the surface and upper layers of the skin. It does "
                "not lift sagging skin of the jowls or neck the way surgery does, and it does "
                "not remove lines caused mainly by muscle movement, such as the frown lines "
                "between the eyebrows, which usually respond better to muscle-relaxing "
                "injections. It does not stop the skin from ageing, and new sun damage will "
                "appear if the skin is not protected. Active acne, rosacea flares and skin "
                "infections need to be treated and settled before resurfacing."
            ),
            P(
                "Results also take time. After ablative treatment the surface is renewed "
                "within about two weeks, but collagen remodelling continues for 3 to 6 months "
                "or longer. After non-ablative treatment, improvement builds gradually over "
                "the series of sessions."
            ),
        ),
        S(
            "Next Steps",
            P(
                "Every treatment starts with a consultation, where we check whether you are "
                "a good candidate, explain the options that suit your skin and plan your "
                "preparation. Our documents \u201cWho Is a Good Candidate?\u201d and "
                "\u201cPreparing for Your Treatment and the Treatment Day\u201d explain these "
                "steps in more detail."
            ),
        ),
    ],
}


# ---------------------------------------------------------------------------
# 2. Candidacy and contraindications
# ---------------------------------------------------------------------------

CANDIDACY = {
    "file": "candidacy-and-contraindications.pdf",
    "title": "Who Is a Good Candidate?",
    "subtitle": "Skin types, contraindications and what happens at your consultation",
    "sections": [
        S(
            "What Makes a Good Candidate",
            P(
                "The best candidates for laser resurfacing are healthy adults with wrinkles, "
                "scars, sun damage or uneven texture who have realistic expectations, can "
                "protect their skin from the sun before and after treatment, and are able to "
                "follow the aftercare instructions. Your skin type, your medical history and "
                "the medicines you take all affect which laser is safe for you. Some "
                "conditions mean that treatment has to be delayed, and a few mean that laser "
                "resurfacing is not advisable at all. This document explains how we decide."
            ),
        ),
        S(
            "Fitzpatrick Skin Types I to VI",
            P(
                "Dermatologists use the Fitzpatrick scale to describe how skin reacts to the "
                "sun. It is based on your natural skin colour and how easily you burn or tan, "
                "not on ethnicity alone, and your clinician will assess your type at the "
                "consultation."
            ),
            T(
                [
                    ["Type", "Typical description", "Reaction to sun"],
                    [
                        "I",
                        "Very fair skin, often freckles, red or blond hair, light eyes",
                        "Always burns, never tans",
                    ],
                    ["II", "Fair skin, usually light eyes", "Usually burns, tans minimally"],
                    [
                        "III",
                        "Light to medium (beige) skin",
                        "Sometimes burns mildly, tans gradually to light brown",
                    ],
                    ["IV", "Olive or moderate brown skin", "Burns minimally, tans easily to moderate brown"],
                    ["V", "Dark brown skin", "Very rarely burns, tans very easily"],
                    ["VI", "Deeply pigmented dark brown to black skin", "Never burns"],
                ],
                [0.1, 0.5, 0.4],
            ),
        ),
        S(
            "Which Lasers Suit Which Skin Types",
            P(
                "Your skin type is one of the main factors in choosing a laser and its "
                "settings. As a general guide:"
            ),
            B(
                "**Types I to III:** generally suitable for all the lasers we offer, including "
                "fully ablative CO2 and Er:YAG. The risk of pigment changes is lower, although "
                "it is never zero.",
                "**Type IV:** the non-ablative fractional 1,550 nm laser and carefully "
                "selected fractional ablative treatments at conservative settings. When an "
                "ablative laser is used, erbium is often preferred over CO2. Fully ablative "
                "resurfacing is usually avoided, or considered only after careful discussion "
                "and skin preparation.",
                "**Types V and VI:** the non-ablative fractional 1,550 nm laser at low density, "
                "with longer intervals between sessions, is usually the preferred option. "
                "Fully ablative resurfacing is generally not recommended.",
            ),
            H3("Why darker skin has a higher risk of pigment changes"),
            P(
                "In all skin types, the pigment-producing cells (melanocytes) react to injury "
                "and inflammation. In darker skin these cells are more active and tend to "
                "make extra pigment after heat or inflammation, which causes dark patches "
                "called post-inflammatory hyperpigmentation (PIH). PIH is usually temporary "
                "and treatable, but it can take months to fade. Darker skin also shows any "
                "loss of pigment (hypopigmentation) more clearly. Lower energy, lower "
                "density, fewer passes, more time between sessions and careful sun protection "
                "all reduce these risks. A recent tan temporarily makes any skin behave like "
                "a darker skin type, which is one reason we ask you to avoid the sun before "
                "treatment."
            ),
        ),
        S(
            "Medical Reasons to Delay or Avoid Treatment",
            P(
                "Some conditions increase the risk of infection, poor healing or scarring. "
                "Depending on the situation, we may postpone treatment, choose a gentler "
                "laser, or advise against laser resurfacing. Please tell us about all of the "
                "following at your consultation, and again on the treatment day if anything "
                "has changed."
            ),
            H3("Isotretinoin in the last 6 months"),
            P(
                "Isotretinoin is an oral acne medicine that shrinks oil glands and can affect "
                "wound healing. Our clinic policy is to wait at least 6 months after the last "
                "dose before any laser resurfacing. You may read that this advice has "
                "evolved: older guidance recommended waiting 6 to 12 months, while more recent "
                "studies and expert consensus suggest that some procedures, including some "
                "fractional laser treatments, may be safe sooner. The evidence is still "
                "limited, especially for fully ablative treatment, so we keep a cautious "
                "6-month policy. Dr. Okafor can discuss your own situation."
            ),
            H3("Active infection, including active cold sores"),
            P(
                "Any active skin infection in or near the treatment area must be fully healed "
                "first. This includes an active cold sore (herpes simplex), impetigo and "
                "fungal infections. Laser treatment over an active cold sore can spread the "
                "virus across the treated skin. If you have ever had cold sores, tell us: you "
                "will take an antiviral medicine around the time of treatment, as does "
                "everyone having an ablative treatment."
            ),
            H3("Pregnancy and breastfeeding"),
            P(
                "We do not perform laser resurfacing during pregnancy or while breastfeeding. "
                "There is little safety information, hormonal changes raise the risk of "
                "pigment problems such as melasma, and the medicines used around treatment, "
                "such as antivirals, pain relief and sedation, may not be appropriate. We are "
                "happy to plan treatment for after you have finished breastfeeding."
            ),
            H3("History of keloids or hypertrophic scarring"),
            P(
                "If you tend to form keloids (scars that grow beyond the original wound) or "
                "thick, raised hypertrophic scars, ablative resurfacing carries a higher risk "
                "of scarring. A non-ablative treatment may still be possible after "
                "discussion, but fully ablative treatment is usually avoided."
            ),
            H3("Recent tan or sunburn"),
            P(
                "Tanned or sunburned skin has more active pigment cells and is already "
                "inflamed. Treating it increases the risk of blistering and of dark or light "
                "patches. We postpone treatment until the skin has returned to its natural "
                "colour, which usually means at least 4 weeks without sun exposure or tanning "
                "beds. Self-tanning products should also be stopped beforehand, because they "
                "make it harder to judge your true skin tone."
            ),
            H3("Photosensitizing medicines and supplements"),
            P(
                "Some medicines make the skin more sensitive to light, for example certain "
                "antibiotics such as doxycycline and other tetracyclines, some diuretics "
                "(water tablets), some anti-inflammatory painkillers and the herbal "
                "supplement St John\u2019s wort. Do not stop a prescribed medicine on your "
                "own; bring a complete list and we will check whether the timing of your "
                "treatment needs to change. Please also tell us about blood thinners and "
                "supplements such as fish oil or vitamin E, which can increase bruising, and "
                "about any retinoid or acid products you use on your skin."
            ),
            H3("Uncontrolled diabetes, immune suppression and other conditions"),
            P(
                "Poorly controlled diabetes, medicines that suppress the immune system (for "
                "example after an organ transplant or for some autoimmune diseases) and "
                "other conditions that weaken immunity slow healing and raise the risk of "
                "infection. We usually treat only when the condition is well controlled, and "
                "we may ask for a letter from your doctor. Smoking also slows healing. Skin "
                "conditions that can flare in injured skin, such as vitiligo, psoriasis and "
                "eczema, need to be discussed as well."
            ),
            H3("Prior radiation therapy to the area"),
            P(
                "Skin that has had radiation therapy, for example for cancer, has fewer of "
                "the hair follicles and oil glands from which new skin grows after ablative "
                "treatment, and it often has a reduced blood supply. Healing can be slow and "
                "scarring is more likely, so we generally do not perform ablative resurfacing "
                "on previously irradiated skin."
            ),
            H3("Unrealistic expectations"),
            P(
                "Laser resurfacing improves wrinkles, scars and texture; it does not make "
                "skin perfect, lift sagging skin or stop ageing. Most people see a clear "
                "improvement rather than the complete removal of lines or scars. If we feel "
                "that a laser cannot give you the result you are hoping for, we will say so, "
                "and we may suggest another approach or no treatment at all."
            ),
        ),
        S(
            "What the Consultation Covers",
            P(
                "Every treatment at Harbour Lane starts with a consultation, typically 30 to "
                "45 minutes long, with Dr. Maya Okafor or one of our clinicians. During the "
                "consultation we:"
            ),
            B(
                "talk about your goals and which areas bother you most;",
                "take a medical history, including cold sores, scarring, isotretinoin use, "
                "pregnancy plans and other health conditions;",
                "review all your medicines, supplements and skin-care products;",
                "examine your skin and determine your Fitzpatrick skin type;",
                "take standardised photographs for your record;",
                "explain which lasers suit you, with the expected results, number of "
                "sessions, downtime and risks of each;",
                "give you a written cost estimate;",
                "plan your preparation, including sun protection, stopping retinoids, "
                "antiviral medicine and, if needed, a skin-lightening cream;",
                "answer your questions and give you time to decide before you sign a consent form.",
            ),
            P(
                "For darker skin types or uncertain cases we sometimes suggest a small test "
                "spot in a less visible area, to see how your skin responds before a larger "
                "area is treated. There is no obligation to book treatment after a "
                "consultation, and you are welcome to bring a friend or family member."
            ),
        ),
    ],
}


# ---------------------------------------------------------------------------
# 3. Preparing for treatment and the treatment day
# ---------------------------------------------------------------------------

PREPARING = {
    "file": "preparing-for-your-treatment.pdf",
    "title": "Preparing for Your Treatment and the Treatment Day",
    "subtitle": "The weeks before, what to bring, and what happens on the day",
    "sections": [
        S(
            "Your Preparation Timeline at a Glance",
            P(
                "Good preparation lowers the risk of complications and helps your skin heal. "
                "Your clinician will give you a personal plan at the consultation; the "
                "timeline below shows the usual steps."
            ),
            T(
                [
                    ["When", "What to do"],
                    [
                        "4 weeks before",
                        "Start strict sun avoidance and daily broad-spectrum SPF 30+. No tanning beds or self-tanner.",
                    ],
                    [
                        "A few weeks before (some darker skin types)",
                        "Use a skin-lightening cream if Dr. Okafor has prescribed one.",
                    ],
                    [
                        "About 2 weeks before",
                        "Avoid waxing, hair-removal creams, peels and other procedures on the area. Collect your prescriptions. Stop smoking if you can.",
                    ],
                    ["5\u20137 days before", "Stop retinoids (tretinoin, retinol) and exfoliating acids."],
                    [
                        "The day before",
                        "Start your antiviral medicine if told to. Confirm your driver. Set out your aftercare supplies.",
                    ],
                    ["Treatment day", "Arrive with clean skin, no makeup and comfortable clothes."],
                ],
                [0.3, 0.7],
            ),
        ),
        S(
            "Four Weeks Before: Avoid the Sun",
            P(
                "Sun exposure activates the pigment cells in your skin and can leave it "
                "slightly inflamed even when you cannot see a burn. Treating tanned or "
                "recently sun-exposed skin raises the risk of blistering and of dark or light "
                "patches afterwards. For at least 4 weeks before your treatment:"
            ),
            B(
                "apply a broad-spectrum sunscreen of SPF 30 or higher every morning to the "
                "area that will be treated, and reapply every 2 hours when you are outdoors;",
                "wear a wide-brimmed hat and stay in the shade, especially in the middle of the day;",
                "avoid tanning beds and deliberate sunbathing;",
                "stop using self-tanning products, which make it harder to judge your skin tone.",
            ),
            P(
                "If you get a sunburn or a noticeable tan in the weeks before your "
                "appointment, please call us on 555-0100, because we may need to reschedule."
            ),
        ),
        S(
            "One Week Before: Pause Retinoids and Exfoliating Acids",
            P(
                "Retinoids and exfoliating acids thin the outer layer of the skin and make it "
                "more sensitive. Stop the following products about a week before your "
                "treatment; our clinic asks for 5 to 7 days:"
            ),
            B(
                "prescription retinoids such as tretinoin, adapalene and tazarotene;",
                "over-the-counter retinol and retinal (retinaldehyde) creams and serums;",
                "alpha hydroxy acids such as glycolic, lactic and mandelic acid, and beta "
                "hydroxy acids such as salicylic acid;",
                "benzoyl peroxide, facial scrubs, cleansing brushes and other exfoliants.",
            ),
            P(
                "Keep using a gentle cleanser, a plain moisturiser and sunscreen. We will tell "
                "you when you can restart your usual products after treatment; after an "
                "ablative treatment this is typically several weeks later."
            ),
        ),
        S(
            "Skin Lightening Before Treatment for Some Darker Skin Types",
            P(
                "If you have a medium or darker skin type, or you have had dark marks after "
                "cuts, spots or other injuries, Dr. Okafor may prescribe a skin-lightening "
                "cream for a few weeks before treatment. This is usually prescription "
                "hydroquinone, or an alternative such as azelaic acid. The aim is to calm "
                "pigment production before the laser. The evidence that pre-treatment "
                "lightening prevents dark patches is mixed, so we recommend it case by case, "
                "and it is often restarted once the skin has healed. Your plan will tell you "
                "when to pause it before the treatment day."
            ),
        ),
        S(
            "Antiviral Medicine to Prevent Cold Sores",
            P(
                "The herpes simplex virus that causes cold sores stays dormant in nerves and "
                "can be reactivated by laser treatment, especially around the mouth. An "
                "outbreak on freshly treated skin can spread widely and can leave scars. To "
                "prevent this, we prescribe an antiviral medicine, such as valacyclovir, to:"
            ),
            B(
                "everyone having an ablative treatment (fully ablative or fractional "
                "ablative), whether or not they have ever had a cold sore; and",
                "anyone with a history of cold sores, including before a non-ablative treatment.",
            ),
            P(
                "The antiviral is usually started the day before or on the day of treatment "
                "and continued for about a week, until the new skin has formed. Take every "
                "dose as prescribed, even if you feel well. If you notice a tingle, blister "
                "or sore on your lips or face in the days before treatment, call us: the "
                "treatment will need to be postponed."
            ),
        ),
        S(
            "Other Things to Arrange",
            H3("Medicines, supplements and smoking"),
            P(
                "Bring a complete list of your medicines and supplements. Do not stop any "
                "prescribed medicine, including blood thinners, without talking to the doctor "
                "who prescribed it. If your doctor agrees, avoiding non-prescribed aspirin, "
                "ibuprofen, fish oil and vitamin E for about a week beforehand may reduce "
                "bruising. Smoking reduces blood flow to the skin and slows healing, so "
                "stopping for at least two weeks before and after treatment is strongly "
                "recommended."
            ),
            H3("A driver if you have sedation"),
            P(
                "If you will have oral sedation or any medicine that makes you drowsy, which "
                "includes most fully ablative treatments, you must arrange for a responsible "
                "adult to drive you home. You cannot drive yourself, and you should not go "
                "home alone in a taxi. After a fully ablative treatment we also recommend "
                "that someone stays with you for the first night."
            ),
            H3("Time off work and social plans"),
            P(
                "Plan your downtime in advance: typically 1 to 3 days for non-ablative "
                "treatment, about a week for fractional ablative treatment, and up to 2 weeks "
                "away from work and social events for fully ablative treatment. Avoid booking "
                "treatment just before a sunny holiday or an important event."
            ),
            H3("Aftercare supplies to have at home"),
            B(
                "plain petroleum jelly (petrolatum), or the ointment we recommend;",
                "a gentle, fragrance-free cleanser and a plain fragrance-free moisturiser;",
                "white vinegar and clean gauze, or sterile saline, for soaks;",
                "a reusable cold pack or a bag of frozen peas, and clean soft cloths;",
                "extra pillows so you can sleep with your head raised;",
                "a mineral sunscreen of SPF 30 or higher for when your skin has healed;",
                "pain relief as advised by your clinician, usually acetaminophen (paracetamol).",
            ),
        ),
        S(
            "What to Bring on the Day",
            P("Pack a small bag the evening before with:"),
            B(
                "photo ID and your list of medicines;",
                "your antiviral and any other medicine you have been prescribed;",
                "glasses instead of contact lenses if the area around your eyes is being treated;",
                "a loose top that buttons or zips at the front, so nothing has to be pulled "
                "over your face afterwards;",
                "a hair tie or headband;",
                "a wide-brimmed hat and sunglasses for the journey home;",
                "something to read or listen to while the numbing cream takes effect.",
            ),
            P(
                "Please arrive with clean skin and no makeup, moisturiser or sunscreen on the "
                "area, and leave jewellery at home. Eat a light meal beforehand unless you "
                "have been given different instructions because of sedation."
            ),
        ),
        S(
            "The Treatment Day, Step by Step",
            H3("Arrival and check-in"),
            P(
                "Please arrive 15 minutes before your appointment time. A nurse confirms "
                "your health and medicines, checks that you have taken your antiviral, "
                "answers any remaining questions and asks you to sign the consent form."
            ),
            H3("Photographs and cleansing"),
            P(
                "We take standardised photographs under the same lighting as at your "
                "consultation, so that your results can be compared fairly later. The area "
                "is then cleansed thoroughly to remove oil, makeup and sunscreen, and left "
                "completely dry."
            ),
            H3("Numbing cream and other pain control"),
            P(
                "A topical numbing cream (a local anaesthetic cream) is applied and left on "
                "for about 45 to 60 minutes, then removed completely before the laser "
                "starts. For most non-ablative and fractional treatments this, together with "
                "cooling, is enough. For fully ablative treatments we add nerve blocks, "
                "which are small injections of local anaesthetic that numb larger areas such "
                "as the forehead, cheeks and chin, and oral medication to ease pain and help "
                "you relax. If a deeper form of sedation is advisable for you, this is "
                "discussed and arranged at your consultation."
            ),
            H3("Eye protection"),
            P(
                "Laser light can injure the eyes, so everyone in the room wears protective "
                "eyewear. You wear laser-safe goggles or eye shields for the whole "
                "treatment. When the skin close to the eyes or on the eyelids is treated, "
                "small protective shields are placed over the eyes themselves after "
                "anaesthetic eye drops."
            ),
            H3("Cooling and what you will feel"),
            P(
                "A cooling device blows chilled air over the skin during treatment, and for "
                "ablative treatments a smoke evacuator removes the vapour. Most people "
                "describe a prickling heat or a snapping feeling. Tell your clinician if it "
                "becomes too uncomfortable; settings and pace can be adjusted."
            ),
            H3("How long it takes"),
            P(
                "Laser time depends on the laser and the size of the area. A non-ablative "
                "treatment takes about 20 to 30 minutes of laser time, a fractional "
                "treatment about 30 to 60 minutes, and a full-face fully ablative treatment "
                "about 1 to 2 hours. Smaller areas, such as around the mouth or eyes, take "
                "less time. Including check-in, photographs and numbing, plan on about 2 "
                "hours at the clinic for a non-ablative treatment and half a day for a "
                "fully ablative one."
            ),
        ),
        S(
            "Going Home",
            P(
                "After a non-ablative treatment your skin will feel hot and look red, like a "
                "sunburn; we apply cool compresses, a soothing moisturiser and sunscreen. "
                "After an ablative treatment we apply a thick layer of ointment, and "
                "sometimes a dressing, and the skin will start to ooze over the following "
                "hours. Before you leave, a nurse goes through your aftercare, gives you the "
                "\u201cAftercare: Day by Day\u201d schedule and books your follow-up visit. "
                "After a fully ablative treatment a nurse also phones you the next day."
            ),
            P(
                "At home, rest with your head raised, keep the treated skin covered with "
                "ointment if you had an ablative treatment, and keep taking your antiviral. "
                "If anything worries you, you can call the urgent after-treatment line, "
                "555-0199, at any time of day or night."
            ),
        ),
    ],
}


# ---------------------------------------------------------------------------
# 4. Aftercare day by day
# ---------------------------------------------------------------------------

AFTERCARE = {
    "file": "aftercare-day-by-day.pdf",
    "title": "Aftercare: Day by Day",
    "subtitle": "What to expect and what to do after ablative and non-ablative treatment",
    "sections": [
        S(
            "How to Use This Schedule",
            P(
                "Healing after laser resurfacing follows a predictable pattern, but the pace "
                "depends on the type of laser, how deep it went and your own skin. Use this "
                "schedule as a guide, follow any specific instructions your clinician gives "
                "you, and call us if your healing looks different from what is described "
                "here. Part A covers ablative treatments: fully ablative CO2 and Er:YAG, and "
                "fractional ablative CO2 and erbium. Part B covers non-ablative 1,550 nm "
                "treatments."
            ),
        ),
        S(
            "Recovery Timelines by Laser Type",
            T(
                [
                    ["Laser", "Main healing", "Redness or pinkness", "Makeup can usually resume"],
                    [
                        "Non-ablative fractional 1,550 nm",
                        "1\u20133 days of redness and swelling; flaking for a few days",
                        "A few days",
                        "The next day",
                    ],
                    [
                        "Fractional ablative CO2 or erbium",
                        "About 5\u20137 days of downtime",
                        "2\u20134 weeks",
                        "Once healed, often around day 5\u20137",
                    ],
                    [
                        "Fully ablative Er:YAG",
                        "Healing in 5\u201310 days",
                        "Several weeks",
                        "After re-epithelialization, about 7\u201310 days",
                    ],
                    [
                        "Fully ablative CO2",
                        "Re-epithelialization in 7\u201314 days",
                        "Pinkness for 2\u20133 months, sometimes up to 6",
                        "After re-epithelialization, about 7\u201310 days or later",
                    ],
                ],
                [0.26, 0.28, 0.22, 0.24],
            ),
            P(
                "Re-epithelialization means that a new surface layer of skin has grown over "
                "the whole treated area, so there is no more raw skin, oozing or crusting. "
                "It is the point at which ointment can be replaced by moisturiser and "
                "makeup can be worn again."
            ),
        ),
        S(
            "Core Aftercare Techniques for Ablative Treatment",
            H3("Dilute vinegar or saline soaks"),
            P(
                "Mix 1 teaspoon of white vinegar into 1 cup (about 250 mL) of cool water that "
                "has been boiled and cooled, or use sterile saline. Soak clean gauze in the "
                "solution and lay it over the treated skin for 5 to 10 minutes, 4 to 6 times "
                "a day. The soaks loosen crusts and clean away ooze, and the mild acidity of "
                "vinegar discourages bacteria. Make a fresh solution every day. Mild "
                "stinging is normal; if the vinegar burns strongly, dilute it further and "
                "tell us."
            ),
            H3("Gentle cleansing"),
            P(
                "Wash your hands first. After a soak, cleanse with lukewarm water and a "
                "gentle, fragrance-free cleanser, using only your fingertips, then pat dry "
                "with a clean soft towel. Do not use washcloths, scrubs or brushes, and do "
                "not rub crusts off."
            ),
            H3("Occlusive ointment"),
            P(
                "Keep the treated skin covered with a continuous layer of plain petrolatum "
                "(petroleum jelly) or the ointment we gave you, and reapply it after every "
                "soak. The skin should never be allowed to dry out or crack, because moist "
                "wounds heal faster and with less scarring. Avoid antibiotic ointments "
                "unless we prescribe one, and avoid scented products, because both can cause "
                "an allergic rash."
            ),
            H3("Hands off"),
            P(
                "Do not pick, scratch or peel crusts or flaking skin, however tempting. "
                "Picking raises the risk of infection, dark marks and scarring. Let crusts "
                "come away by themselves during soaks."
            ),
            H3("Reducing swelling"),
            P(
                "Sleep with your head raised on two or three pillows, or in a recliner, for "
                "the first few nights. Use cold compresses or a cold pack wrapped in a clean "
                "cloth for 10 to 15 minutes at a time; never put ice directly on the skin."
            ),
        ),
        S(
            "Part A: Ablative Treatments Day by Day",
            H3("Day 1 (the day of treatment)"),
            P(
                "**What to expect:** the skin feels hot, tight and sore, like a bad sunburn, "
                "and looks raw and pink to red. Clear or straw-coloured fluid oozes from the "
                "surface; this is normal. Swelling begins within hours. After fractional "
                "ablative treatment you will see a grid of tiny dots with much less oozing."
            ),
            P(
                "**What to do:** rest at home, keep the ointment on continuously, start the "
                "soaks when instructed, use cold compresses and sleep with your head raised. "
                "Take your antiviral, and use pain relief as advised."
            ),
            H3("Day 2"),
            P(
                "Swelling is often at its worst on day 2 or 3, especially around the eyes, "
                "which may be partly closed in the morning; this improves as you sit upright. "
                "Oozing continues and crusts start to form. Continue soaks 4 to 6 times a "
                "day, gentle cleansing and ointment. After fully ablative treatment a nurse "
                "phones you to check on your progress. No makeup."
            ),
            H3("Days 3\u20135"),
            P(
                "Oozing decreases, and crusting and peeling take over. Itching often starts "
                "now; it is a normal sign of healing, but do not scratch. Cool compresses "
                "help, and your clinician may suggest an antihistamine. After fractional "
                "ablative and lighter Er:YAG treatments, fresh pink skin starts to show. Keep "
                "going with soaks and ointment, and avoid heat: hot showers, saunas, hot "
                "kitchens and exercise that makes you sweat heavily."
            ),
            H3("Days 6\u201310"),
            P(
                "For many people the new skin has now grown in. Fractional ablative "
                "treatment is usually healed by day 5 to 7, Er:YAG resurfacing typically "
                "within 5 to 10 days, and CO2 resurfacing within 7 to 14 days, so some CO2 "
                "patients still have areas healing. You will have a follow-up visit in this "
                "period. Once the surface is fully healed, we will ask you to switch from "
                "ointment to a gentle fragrance-free moisturiser and to start a mineral "
                "sunscreen (zinc oxide or titanium dioxide) of SPF 30 or higher every day."
            ),
            P(
                "**Makeup:** you can wear makeup again once the skin has re-epithelialized, "
                "typically about 7 to 10 days after fully ablative treatment, and earlier "
                "after fractional treatment. Use fresh, clean products; mineral makeup and a "
                "green-tinted primer can help cover redness."
            ),
            H3("Weeks 2\u20134"),
            P(
                "The new skin is pink or red, feels tight and dry, and may sting with "
                "products that never bothered you before. Moisturise several times a day, "
                "keep using a gentle cleanser and protect your skin from the sun with "
                "sunscreen, a wide-brimmed hat and shade. Do not restart retinoids, acids or "
                "exfoliants until we tell you to. Dark patches, if they occur, usually show "
                "up around weeks 3 to 4; call us early, because prompt treatment helps. "
                "Small white bumps (milia) or acne-like spots can also appear and should be "
                "mentioned at your follow-up. Avoid swimming pools until your skin is fully "
                "healed."
            ),
            H3("Months 2\u20133"),
            P(
                "After fractional ablative and Er:YAG treatment, redness has usually faded by "
                "now. After fully ablative CO2 treatment, pinkness typically fades over 2 to "
                "3 months and sometimes takes up to 6. Beneath the surface, new collagen "
                "continues to form, and the skin keeps improving for 3 to 6 months or longer. "
                "Continue daily SPF 30+ and avoid deliberate sun exposure for several months; "
                "protecting your skin long term also protects your results. We review your "
                "progress with new photographs at about 3 months."
            ),
        ),
        S(
            "Part B: Non-Ablative 1,550 nm Treatments",
            H3("Day 1"),
            P(
                "Redness, swelling and warmth like a sunburn are normal for the rest of the "
                "day. Use cool compresses and a gentle moisturiser, and sleep with your head "
                "raised if the area around your eyes is puffy. If you have a history of cold "
                "sores, keep taking your antiviral."
            ),
            H3("Days 2\u20133"),
            P(
                "Swelling can be most noticeable on the morning of day 2, especially under "
                "the eyes, and then settles. Redness fades over 1 to 3 days. The skin may "
                "feel dry and rough like sandpaper, and tiny brown dots or a bronzed look "
                "can appear as treated skin works its way out. Do not scrub. Mineral makeup "
                "can usually be worn from the day after treatment."
            ),
            H3("Days 4\u20137"),
            P(
                "The bronzing and fine flaking shed over several days, leaving fresher-looking "
                "skin. Moisturise generously and use SPF 30+ every day."
            ),
            H3("Until your next session"),
            P(
                "Most people can restart their usual skin care about a week after treatment "
                "if the skin is not irritated. The next session is typically about 4 weeks "
                "later, and sun protection remains important throughout the series."
            ),
        ),
        S(
            "Itching, Swelling and Oozing: What Is Normal",
            P(
                "Itching is common between about day 3 and day 10 after ablative treatment, "
                "as the skin and small nerves regrow. Swelling is usually greatest 24 to 72 "
                "hours after treatment and is worse after sleeping flat. Clear or "
                "straw-coloured oozing during the first few days is expected, and it dries "
                "into crusts."
            ),
            P(
                "These are not normal and need a call: pus or thick yellow crusts, redness "
                "or pain that is getting worse instead of better, new blisters or clusters "
                "of small painful sores, fever or chills, or skin that looks white, grey or "
                "burned. Call the urgent after-treatment line, 555-0199 (24 hours, on-call "
                "nurse). Our document \u201cRisks, Complications and When to Call Us\u201d "
                "explains these warning signs in detail."
            ),
        ),
        S(
            "Daily Life During Recovery",
            P(
                "A few everyday habits make a difference while your skin is healing, "
                "particularly after ablative treatment:"
            ),
            B(
                "**Showering:** use lukewarm water and keep the spray off your face during "
                "the first week after ablative treatment.",
                "**Pillowcases and towels:** use a clean pillowcase every night and a fresh "
                "towel each time, and keep pets off your pillow.",
                "**Shaving:** avoid shaving treated skin until it has fully healed.",
                "**Exercise:** gentle walks are fine; avoid exercise that makes you sweat or "
                "flush until the skin has healed.",
                "**Alcohol:** alcohol can increase flushing and swelling in the first few days.",
                "**Travel:** avoid flying to hot, sunny places while your skin is still healing or pink.",
            ),
        ),
    ],
}


# ---------------------------------------------------------------------------
# 5. Risks and complications
# ---------------------------------------------------------------------------

RISKS = {
    "file": "risks-and-complications.pdf",
    "title": "Risks, Complications and When to Call Us",
    "subtitle": "Normal healing, possible complications and the warning signs to act on",
    "sections": [
        S(
            "Expected Effects Versus Complications",
            P(
                "Every laser resurfacing treatment causes a controlled injury to the skin, "
                "and the healing of that injury is what produces the improvement. Some "
                "effects are therefore expected and are part of normal healing. How strong "
                "they are depends on the laser used:"
            ),
            B(
                "redness and pinkness, which can last from a few days to a few months;",
                "swelling, especially around the eyes, usually worst in the first 2 to 3 days;",
                "a feeling of heat, tightness or a sunburn-like soreness;",
                "oozing and crusting after ablative treatment;",
                "peeling, flaking or a bronzed look to the skin;",
                "itching while the skin heals.",
            ),
            P(
                "Complications are different. They are less common, unexpected problems that "
                "need attention from the clinic. Most complications can be treated, "
                "especially when they are caught early, which is why we ask you to call us "
                "when something does not look or feel right. The risk of most complications "
                "is higher after fully ablative treatment than after fractional or "
                "non-ablative treatment."
            ),
        ),
        S(
            "Infection",
            H3("Bacterial infection"),
            P(
                "Raw skin after ablative treatment is vulnerable to bacteria. Signs of a "
                "bacterial infection include pain, redness or swelling that increases after "
                "the first few days, yellow or honey-coloured crusts, pus, an unpleasant "
                "smell and fever. Clean hands, fresh soaks, clean pillowcases and not "
                "picking at the skin all reduce the risk. An infection is treated with "
                "antibiotics, sometimes after taking a swab to identify the bacteria."
            ),
            H3("Herpes simplex (cold sore) reactivation"),
            P(
                "The virus that causes cold sores can be reactivated by laser treatment, even "
                "in people who do not remember ever having a cold sore. An outbreak usually "
                "appears within the first week, as clusters of small painful blisters or "
                "shallow open sores, often with burning pain. Antiviral medicine taken around "
                "the treatment lowers the risk but does not remove it completely. An "
                "outbreak needs prompt treatment with antiviral medicine to help prevent "
                "scarring, so call us straight away."
            ),
            H3("Yeast infection"),
            P(
                "The warm, moist environment under ointment can allow yeast (candida) to "
                "grow. This can cause increased itching, redness and small pustules or white "
                "patches. It is treated with antifungal medicine."
            ),
        ),
        S(
            "Changes in Skin Colour",
            H3("Hyperpigmentation (darkening)"),
            P(
                "Post-inflammatory hyperpigmentation is the most common pigment complication. "
                "Brown or darker patches usually appear around weeks 3 to 4 after treatment. "
                "It is more common in darker skin types and in anyone who is exposed to the "
                "sun too early. It is usually temporary and treatable with strict sun "
                "protection and lightening creams such as hydroquinone or azelaic acid, and "
                "it generally fades over weeks to months."
            ),
            H3("Hypopigmentation (lightening)"),
            P(
                "Loss of pigment makes the treated skin look lighter than the surrounding "
                "skin. After fully ablative CO2 resurfacing it can be delayed, appearing "
                "several months after treatment, sometimes 6 to 12 months later. It is less "
                "common after fractional and erbium treatments. Hypopigmentation is difficult "
                "to treat and may be permanent. Sometimes treated skin only looks lighter "
                "because the untreated skin next to it is sun-damaged; we blend the edges of "
                "the treatment area to avoid a visible line."
            ),
        ),
        S(
            "Scarring",
            P(
                "Scarring is uncommon, but it is the complication we work hardest to avoid. "
                "The risk is higher after fully ablative treatment, after an infection or "
                "picking, in people with a history of keloids, and on the neck, jawline and "
                "the area around the mouth. Early warning signs are a spot that stays red, "
                "firm, raised or itchy longer than the surrounding skin, or an area that "
                "heals much more slowly. Early treatment with steroid creams or injections, "
                "silicone gel or a vascular laser often improves the outcome, so please "
                "call us promptly."
            ),
        ),
        S(
            "Milia and Acne Flares",
            P(
                "Milia are tiny white bumps, small cysts just under the surface, that "
                "commonly appear in the first weeks after ablative treatment, partly because "
                "of thick ointments. They usually clear on their own and can be gently "
                "removed if they persist. Acne flares can also be triggered by ointments, "
                "heat and sweating, especially in people who are prone to acne. Do not "
                "squeeze them; we may change your products or prescribe treatment."
            ),
        ),
        S(
            "Prolonged Redness",
            P(
                "Redness is expected, but sometimes it lasts longer than usual for the type "
                "of treatment, for example beyond a few weeks after fractional treatment or "
                "beyond several months after fully ablative CO2. People with rosacea are "
                "more prone to it. Gentle skin care, avoiding irritating products and strict "
                "sun protection help, and persistent redness can be treated with topical "
                "medicines or a vascular laser. Green-tinted makeup helps hide it meanwhile."
            ),
        ),
        S(
            "Contact Dermatitis",
            P(
                "Healing skin reacts easily to products put on it. Contact dermatitis is an "
                "irritant or allergic rash caused by, for example, antibiotic ointments such "
                "as neomycin or bacitracin, fragrances, plant extracts or preservatives. It "
                "shows as increasing itching, redness, small bumps or blisters, sometimes "
                "spreading beyond the treated area. Stop any new product and call us; a mild "
                "steroid cream may be prescribed. This is why we recommend plain petrolatum."
            ),
        ),
        S(
            "Eyelid and Eye Risks",
            H3("Ectropion"),
            P(
                "Ectropion, in which the lower eyelid is pulled outward, is a rare "
                "complication of resurfacing the lower eyelid skin. The risk is higher if "
                "the lower lids are already lax or if you have had lower-eyelid surgery, so "
                "we check eyelid tone at the consultation and use gentler settings there. "
                "Signs include watering, dry or gritty eyes and a visible pink inner lid "
                "margin. Mild cases may settle as the skin relaxes; some need surgery."
            ),
            H3("Eye injury"),
            P(
                "Laser light can damage the eye. Eye injury is prevented by protective "
                "goggles or shields worn throughout the treatment, with shields placed over "
                "the eyes themselves when eyelids are treated. Any change in vision or eye "
                "pain after treatment needs an urgent call."
            ),
        ),
        S(
            "Other Possible Problems",
            P(
                "A few other problems are possible, although most are uncommon and many can "
                "be prevented or reduced:"
            ),
            B(
                "**Blistering or burns:** too much heat can blister the skin, particularly "
                "on thin skin such as the neck. Skin that looks white, grey or burned, "
                "rather than pink and raw, needs to be seen.",
                "**Lines of demarcation:** a visible border between treated and untreated "
                "skin, most often along the jawline after fully ablative treatment. Feathering "
                "the edges of the treatment reduces this.",
                "**Bruising:** occasional bruising, especially around the eyes, fades over "
                "one to two weeks. Blood thinners and some supplements make it more likely.",
                "**Reactions to numbing medicine:** numbing creams are safe in the amounts we "
                "use, which is why they are applied only by our staff and for a set time. "
                "Tell us if you have ever reacted to a local anaesthetic.",
            ),
        ),
        S(
            "When to Call the Clinic",
            P("Call us right away, day or night, if you notice any of the following after your treatment:"),
            B(
                "fever or chills;",
                "spreading or increasing redness, especially after the first 2 to 3 days;",
                "increasing swelling or warmth;",
                "yellow crusts or pus;",
                "new blisters or small painful sores, which may be a cold-sore outbreak;",
                "severe or worsening pain;",
                "any change in vision or eye pain;",
                "areas that look burned, white or grey, or are not healing.",
            ),
            NOTE("Urgent after-treatment line (24 hours, on-call nurse): 555-0199"),
            NOTE(
                "If you have trouble breathing, chest pain or a very high fever, call "
                "emergency services (911)."
            ),
            P(
                "When you call, have ready the date and type of your treatment, what you have "
                "noticed and when it started, your temperature if you have measured it, and "
                "the medicines you are taking. The nurse may ask you to send a photograph."
            ),
            P(
                "For non-urgent questions, such as mild itching, which moisturiser to use or "
                "changing an appointment, call our main line, 555-0100, during opening hours "
                "(listed below), or email hello@harbourlane-clinic.example. Please do not use "
                "email for anything urgent."
            ),
            keep=True,
        ),
        S(
            "How You Can Lower Your Risk",
            B(
                "Tell us your full medical history, including cold sores, scarring and isotretinoin use.",
                "Take your antiviral exactly as prescribed.",
                "Protect your skin from the sun before and after treatment.",
                "Keep up soaks and ointment, and do not pick or scratch.",
                "Do not try new skin-care products while your skin is healing.",
                "Come to your follow-up visits, even if everything seems fine.",
            ),
        ),
    ],
}


DOCUMENTS = [TREATMENT_OPTIONS, CANDIDACY, PREPARING, AFTERCARE, RISKS]


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def markup(text: str) -> str:
    """Escape XML special characters, then turn **x** into <b>x</b>."""
    return _BOLD.sub(r"<b>\1</b>", escape(text))


def make_styles() -> dict:
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "Body",
        parent=base["BodyText"],
        fontName="Helvetica",
        fontSize=10.5,
        leading=14.5,
        spaceAfter=7,
        alignment=TA_LEFT,
    )
    return {
        "title": ParagraphStyle(
            "DocTitle",
            parent=base["Title"],
            fontName="Helvetica-Bold",
            fontSize=21,
            leading=25,
            spaceAfter=6,
            alignment=TA_LEFT,
            textColor=colors.HexColor("#12344d"),
        ),
        "subtitle": ParagraphStyle(
            "DocSubtitle",
            parent=body,
            fontName="Helvetica-Oblique",
            fontSize=12,
            leading=16,
            spaceAfter=12,
            textColor=colors.HexColor("#3d5a6c"),
        ),
        "h2": ParagraphStyle(
            "H2",
            parent=base["Heading2"],
            fontName="Helvetica-Bold",
            fontSize=14,
            leading=18,
            spaceBefore=12,
            spaceAfter=6,
            textColor=colors.HexColor("#12344d"),
        ),
        "h3": ParagraphStyle(
            "H3",
            parent=base["Heading3"],
            fontName="Helvetica-Bold",
            fontSize=11.5,
            leading=15,
            spaceBefore=8,
            spaceAfter=3,
            textColor=colors.HexColor("#1f4e6b"),
            keepWithNext=1,
        ),
        "body": body,
        "bullet": ParagraphStyle("Bullet", parent=body, spaceAfter=3),
        "cell": ParagraphStyle("Cell", parent=body, fontSize=9.5, leading=12, spaceAfter=0),
        "cellhead": ParagraphStyle(
            "CellHead",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=9.5,
            leading=12,
            spaceAfter=0,
            textColor=colors.white,
        ),
        "notice": ParagraphStyle(
            "Notice",
            parent=body,
            fontSize=9.5,
            leading=13,
            borderColor=colors.HexColor("#b08900"),
            borderWidth=0.8,
            borderPadding=7,
            backColor=colors.HexColor("#fff8e1"),
            spaceBefore=4,
            spaceAfter=14,
        ),
        "note": ParagraphStyle(
            "Note",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=11,
            leading=15,
            borderColor=colors.HexColor("#a31515"),
            borderWidth=1,
            borderPadding=7,
            backColor=colors.HexColor("#fdecea"),
            spaceBefore=18,
            spaceAfter=18,
        ),
        "contact": ParagraphStyle("Contact", parent=body, fontSize=9.5, leading=13),
    }


class ClinicDocTemplate(SimpleDocTemplate):
    """SimpleDocTemplate that also adds PDF outline entries for headings."""

    def afterFlowable(self, flowable):
        level = getattr(flowable, "_outline_level", None)
        if level is None:
            return
        text = flowable.getPlainText()
        key = f"h{self.seq.nextf('outline')}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=False)


def heading(text: str, style: ParagraphStyle, level: int) -> Paragraph:
    para = Paragraph(markup(text), style)
    para._outline_level = level
    return para


def bullets(items: list[str], styles: dict) -> ListFlowable:
    return ListFlowable(
        [ListItem(Paragraph(markup(item), styles["bullet"]), leftIndent=14) for item in items],
        bulletType="bullet",
        start="\u2022",
        leftIndent=14,
        bulletFontSize=9,
        spaceAfter=6,
    )


def table(rows: list[list[str]], widths: list[float], frame_width: float, styles: dict) -> Table:
    data = [[Paragraph(markup(c), styles["cellhead"]) for c in rows[0]]]
    data += [[Paragraph(markup(c), styles["cell"]) for c in row] for row in rows[1:]]
    tbl = Table(data, colWidths=[w * frame_width for w in widths], repeatRows=1, hAlign="LEFT")
    tbl.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e6b")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f7")]),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9fb3c2")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return tbl


def build_story(doc: dict, styles: dict, frame_width: float) -> list:
    story = [
        heading(doc["title"], styles["title"], 0),
        Paragraph(markup(doc["subtitle"]), styles["subtitle"]),
        Paragraph(markup(SAMPLE_NOTICE), styles["notice"]),
    ]
    for section in doc["sections"]:
        flows = [heading(section["heading"], styles["h2"], 1)]
        for block in section["body"]:
            kind = block["type"]
            if kind == "p":
                flow = Paragraph(markup(block["text"]), styles["body"])
            elif kind == "h3":
                flow = heading(block["text"], styles["h3"], 2)
            elif kind == "bullets":
                flow = bullets(block["items"], styles)
            elif kind == "table":
                flow = table(block["rows"], block["widths"], frame_width, styles)
            elif kind == "note":
                flow = Paragraph(markup(block["text"]), styles["note"])
            else:  # pragma: no cover - guards against typos in the data
                raise ValueError(f"unknown block type {kind!r}")
            flows.append(flow)
        if section.get("keep"):
            story.append(KeepTogether(flows))
        else:
            # Keep the section heading (and any sub-heading right after it) on the
            # same page as the first block of text.
            n = 1
            while n < len(flows) and getattr(flows[n], "_outline_level", None) is not None:
                n += 1
            story.append(KeepTogether(flows[: n + 1]))
            story.extend(flows[n + 1 :])
    contact = [Paragraph(markup(line), styles["contact"]) for line in CONTACT_BLOCK]
    story.append(KeepTogether([heading("Contact Us", styles["h2"], 1)] + contact))
    return story


def render(doc: dict, out_dir: Path) -> Path:
    styles = make_styles()
    path = out_dir / doc["file"]
    title = doc["title"]

    def decorate(canvas, document):
        width, height = document.pagesize
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(colors.HexColor("#3d5a6c"))
        canvas.drawString(document.leftMargin, height - 0.55 * inch, HEADER_TEXT)
        canvas.setStrokeColor(colors.HexColor("#9fb3c2"))
        canvas.setLineWidth(0.5)
        canvas.line(
            document.leftMargin, height - 0.62 * inch, width - document.rightMargin, height - 0.62 * inch
        )
        canvas.line(document.leftMargin, 0.72 * inch, width - document.rightMargin, 0.72 * inch)
        canvas.drawString(document.leftMargin, 0.55 * inch, f"{title} \u00b7 Page {document.page}")
        canvas.restoreState()

    document = ClinicDocTemplate(
        str(path),
        pagesize=LETTER,
        leftMargin=0.95 * inch,
        rightMargin=0.95 * inch,
        topMargin=0.9 * inch,
        bottomMargin=0.95 * inch,
        title=title,
        author=AUTHOR,
        subject="SAMPLE document of a fictional clinic, written for a software demonstration; not medical advice",
        creator="samples/make_pdfs.py (reportlab)",
        keywords="laser resurfacing, sample, fictional clinic",
        invariant=1,
    )
    story = build_story(doc, styles, document.width)
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return path


def main(argv: list[str]) -> int:
    default_out = Path(__file__).resolve().parent.parent / "documents"
    out_dir = Path(argv[1]) if len(argv) > 1 else default_out
    out_dir.mkdir(parents=True, exist_ok=True)
    for doc in DOCUMENTS:
        path = render(doc, out_dir)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
