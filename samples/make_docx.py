"""Write the sample Word document(s) for the fictional Harbour Lane Laser & Skin Clinic.

Run with:  /work/main/.venv/bin/python samples/make_docx.py
Output:    documents/consent-form.docx

All text is fictional sample content written for a software demonstration.
It is not medical advice and not a real legal consent form.
"""

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

OUT_DIR = Path(__file__).resolve().parent.parent / "documents"

CLINIC = "Harbour Lane Laser & Skin Clinic"

# (style, text) pairs. Styles: "Title", "Heading 1", "Heading 2", "Normal", "List Bullet".
CONSENT = [
    ("Title", "Consent for Laser Skin Resurfacing"),
    ("Normal", f"{CLINIC} \u2013 12 Harbour Lane, Suite 3, Port Ellis \u2013 Tel. 555-0100"),
    (
        "Normal",
        "SAMPLE DOCUMENT: this form belongs to a fictional clinic and was written for a software "
        "demonstration. It is not medical advice and must not be used as a real consent form.",
    ),
    ("Heading 1", "About This Form"),
    (
        "Normal",
        "This form explains the laser skin resurfacing treatment you have discussed with your "
        "clinician at your consultation. Please read every section, ask about anything that is not "
        "clear, and sign only when you feel you understand the treatment, its likely effects, its "
        "risks and the alternatives. You may withdraw your consent at any time before the treatment "
        "starts, without giving a reason.",
    ),
    ("Heading 1", "Description of the Procedure"),
    (
        "Normal",
        "Laser skin resurfacing uses concentrated beams of light to remove or heat layers of skin in "
        "a controlled way. The body's healing response then produces new skin and new collagen, which "
        "can soften wrinkles, acne scars, sun damage and uneven texture or colour. Your clinician has "
        "recommended one of the following approaches:",
    ),
    ("Heading 2", "Ablative resurfacing (fully ablative CO2 or Er:YAG laser)"),
    (
        "Normal",
        "An ablative laser removes the outer layer of skin (the epidermis) and heats the layer "
        "beneath it (the dermis). The carbon dioxide (CO2) laser and the erbium (Er:YAG) laser are "
        "the two main types. Ablative treatment gives the most noticeable result from a single "
        "session but has the longest recovery: the treated skin is raw, oozes and crusts until new "
        "skin grows over it, which typically takes one to two weeks. It is usually performed with "
        "numbing cream or local anaesthetic injections (nerve blocks), and sometimes with sedation.",
    ),
    ("Heading 2", "Fractional ablative resurfacing (fractional CO2 or erbium laser)"),
    (
        "Normal",
        "A fractional laser treats thousands of tiny columns of skin and leaves the skin between them "
        "untouched. The untreated skin speeds up healing, so recovery is shorter than with fully "
        "ablative treatment, typically about five to seven days of downtime. More than one session "
        "may be needed.",
    ),
    ("Heading 2", "Non-ablative resurfacing (1,550 nm fractional laser)"),
    (
        "Normal",
        "A non-ablative laser heats the dermis to stimulate collagen without removing the surface "
        "layer of skin. Downtime is short, usually one to three days of redness and swelling, but "
        "results are more gradual and a series of sessions, typically three to five about four weeks "
        "apart, is usually needed.",
    ),
    ("Normal", "Treatment type: ______________________   Area(s) to be treated: ______________________"),
    ("Heading 1", "Expected Effects After Treatment"),
    ("Normal", "The following effects are a normal part of healing and are not complications:"),
    (
        "List Bullet",
        "Redness and swelling. After non-ablative treatment this usually settles in one to three "
        "days; after fractional ablative treatment redness typically lasts two to four weeks; after "
        "fully ablative CO2 treatment the skin usually stays pink for two to three months and "
        "sometimes up to six months.",
    ),
    ("List Bullet", "A feeling like sunburn, warmth, tightness or itching for the first few days."),
    (
        "List Bullet",
        "Oozing, crusting and peeling after ablative and fractional ablative treatment, until the "
        "skin has healed over (re-epithelialisation).",
    ),
    (
        "List Bullet",
        "Tiny dark dots or a bronzed, sandpaper-like texture after fractional treatment, which flake "
        "off within about a week.",
    ),
    (
        "List Bullet",
        "Gradual improvement over three to six months as new collagen forms. Results vary from "
        "person to person and cannot be guaranteed. Laser resurfacing does not stop the natural "
        "ageing of the skin, and further treatment may be needed in the future.",
    ),
    ("Heading 1", "Risks and Possible Complications"),
    (
        "Normal",
        "All medical procedures carry some risk. The risks below have been explained to me. Most are "
        "uncommon, and the risk is generally higher with deeper, ablative treatments and lower with "
        "non-ablative treatments.",
    ),
    ("Heading 2", "Infection"),
    (
        "Normal",
        "Freshly treated skin can become infected with bacteria, viruses or yeast (candida). Signs "
        "include fever, spreading redness, increasing pain, pus or yellow crusts. Infection can "
        "delay healing and increase the risk of scarring. I will follow the wound care instructions "
        "and call the urgent after-treatment line (555-0199, 24 hours, on-call nurse) if I notice "
        "any of these signs.",
    ),
    ("Heading 2", "Reactivation of cold sores (herpes simplex)"),
    (
        "Normal",
        "Laser treatment around the mouth or on the face can trigger an outbreak of cold sores, even "
        "in people who have not had one for a long time. An outbreak on freshly treated skin can "
        "spread and cause scarring. An antiviral medicine such as valacyclovir is usually prescribed "
        "to start before ablative treatment, and for anyone with a history of cold sores, and is "
        "continued for several days afterwards.",
    ),
    ("Heading 2", "Changes in skin colour"),
    (
        "Normal",
        "Hyperpigmentation (darkening of the treated skin) is fairly common, especially in people "
        "with medium or darker skin tones and after sun exposure. It usually appears within weeks "
        "and often fades over several months, sometimes with the help of lightening creams. "
        "Hypopigmentation (lightening of the skin) is less common but can appear late, sometimes "
        "months after fully ablative treatment, and may be permanent. A visible line of "
        "demarcation between treated and untreated skin is also possible.",
    ),
    ("Heading 2", "Scarring"),
    (
        "Normal",
        "Scarring is rare but possible, particularly if infection occurs, if crusts are picked, or "
        "on delicate areas such as the neck and chest. People with a history of keloid or "
        "hypertrophic (raised) scars are at higher risk and may not be suitable for ablative "
        "treatment.",
    ),
    ("Heading 2", "Milia and acne flares"),
    (
        "Normal",
        "Small white bumps (milia) and acne breakouts can appear during healing, often because of "
        "the thick ointments used on healing skin. They usually settle with time or simple "
        "treatment.",
    ),
    ("Heading 2", "Prolonged redness"),
    (
        "Normal",
        "In some people redness lasts longer than expected, occasionally for several months. People "
        "with rosacea or sensitive skin are more likely to be affected.",
    ),
    ("Heading 2", "Eye injury and its prevention"),
    (
        "Normal",
        "Laser light can seriously injure the eyes. Everyone in the treatment room wears protective "
        "eyewear. I will wear the goggles or eye shields provided, and when the treatment is close "
        "to the eyes, protective metal eye shields may be placed over my eyes after numbing eye "
        "drops. I will keep my eyes closed and not remove any eye protection during the procedure.",
    ),
    ("Heading 2", "Other risks"),
    (
        "Normal",
        "Other possible effects include allergic reaction to numbing cream or skin products, "
        "contact dermatitis, temporary or worsened visible blood vessels, pulling of the lower eyelid "
        "outwards (ectropion) after treatment near the eyes, and a result that does not meet my "
        "expectations.",
    ),
    ("Heading 1", "Alternatives"),
    (
        "Normal",
        "I understand that laser resurfacing is a cosmetic treatment and that I may choose another "
        "option, including:",
    ),
    (
        "List Bullet",
        "Chemical peels, which use an acid solution to remove outer layers of skin to a chosen depth.",
    ),
    (
        "List Bullet",
        "Microneedling, which creates tiny punctures to stimulate collagen and usually has little downtime.",
    ),
    ("List Bullet", "Topical treatments such as prescription retinoids and daily sunscreen."),
    ("List Bullet", "No treatment at all."),
    ("Heading 1", "Photography Consent"),
    (
        "Normal",
        "Standard photographs of the treatment area are taken before treatment and at follow-up "
        "visits. They form part of my confidential medical record and help assess results. Please "
        "tick the boxes that apply:",
    ),
    ("List Bullet", "\u2610  I consent to photographs being taken for my medical record (required)."),
    ("List Bullet", "\u2610  I consent to my photographs being used, without my name, for staff training."),
    (
        "List Bullet",
        "\u2610  I consent to my photographs being used, without my name, in the clinic's brochures "
        "or website. I understand I may withdraw this consent in writing at any time, although "
        "material already printed cannot be recalled.",
    ),
    ("Heading 1", "Patient Declarations"),
    ("Normal", "By signing below I confirm that:"),
    (
        "List Bullet",
        "I am not pregnant or breastfeeding and do not expect to become pregnant before treatment. "
        "I understand that the clinic postpones elective laser resurfacing during pregnancy.",
    ),
    (
        "List Bullet",
        "I have not taken isotretinoin (for example Roaccutane or Accutane) in the last six months.",
    ),
    (
        "List Bullet",
        "I have told my clinician whether I have ever had cold sores, and I will take any antiviral "
        "medicine exactly as prescribed.",
    ),
    (
        "List Bullet",
        "I have disclosed my full medical history, medicines and supplements, including blood "
        "thinners, any history of keloid scars, skin conditions and recent tanning.",
    ),
    (
        "List Bullet",
        "I have stopped topical retinoids and other irritating skin products for the period advised "
        "(usually about five to seven days before treatment) and have avoided sun exposure and "
        "tanning for the four weeks before treatment.",
    ),
    (
        "List Bullet",
        "I will follow the written aftercare instructions, protect my skin from the sun, attend my "
        "follow-up appointments and contact the clinic if I have any concerns.",
    ),
    (
        "List Bullet",
        "I have read this form, my questions have been answered to my satisfaction, and no "
        "guarantee has been given about the result.",
    ),
]

SIGNATURE_ROWS = [
    ("Patient name (print)", ""),
    ("Patient signature", ""),
    ("Date", ""),
    ("Clinician name and signature", ""),
    ("Witness name and signature", ""),
    ("Date", ""),
]


def build_consent(path: Path) -> None:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)

    for kind, text in CONSENT:
        if kind == "Title":
            doc.add_heading(text, level=0)
        elif kind.startswith("Heading"):
            doc.add_heading(text, level=int(kind.split()[-1]))
        else:
            doc.add_paragraph(text, style=kind)

    doc.add_heading("Signatures", level=1)
    doc.add_paragraph(
        "Signing this form records that the treatment has been explained to you and that you "
        "agree to go ahead. A copy will be given to you on request."
    )
    table = doc.add_table(rows=len(SIGNATURE_ROWS), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, SIGNATURE_ROWS):
        row.cells[0].text = label
        row.cells[1].text = value

    foot = doc.add_paragraph(
        f"{CLINIC} \u2013 sample form, version 1. Fictional document for software demonstration only."
    )
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.core_properties.title = "Consent for Laser Skin Resurfacing"
    doc.core_properties.author = CLINIC
    doc.core_properties.subject = "Sample document for a software demonstration"
    doc.save(path)


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / "consent-form.docx"
    build_consent(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
