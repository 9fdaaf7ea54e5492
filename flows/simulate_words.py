"""Wording for the business simulator: names, titles and the comments people write."""

from __future__ import annotations

__all__ = [
    "ACCESS_NOTES",
    "BAD_FEEDBACK",
    "COMPANY_KINDS",
    "COMPANY_WORDS",
    "CONTENT_NOTES",
    "DEPARTMENTS",
    "DOCS_REQUEST",
    "DOCS_SENT",
    "FIRST_NAMES",
    "FORMATS",
    "GOOD_FEEDBACK",
    "INVOICE_NOTES",
    "INVOICE_SENT",
    "KICKOFF_NOTES",
    "LAST_NAMES",
    "ONBOARDING_NOTES",
    "REPORT_NOTES",
    "REVISION_NOTES",
    "REVISION_REQUEST",
    "SUBJECTS",
    "SUPPORT_NOTES",
    "TICKET_ANSWER",
    "TICKET_QUESTION",
    "TICKET_REOPEN",
    "TICKET_REPLY",
    "TICKET_SOLVED",
    "TOPICS",
    "company_name",
    "person_name",
]

Notes = tuple[tuple[str, bool], ...]  # (comment text, visible to the client)

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farah", "Gabe", "Hana", "Ivan", "Jade", "Kofi",
    "Lucia", "Marco", "Nina", "Omar", "Paula", "Quinn", "Rosa", "Theo", "Uma", "Victor", "Wren",
    "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Khan", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinlan", "Rossi", "Silva",
    "Tanaka", "Ueda", "Vargas", "Walsh", "Young",
)  # fmt: skip
COMPANY_WORDS = (
    "Bright", "North", "Bloom", "Summit", "Harbor", "Maple", "Clear", "Golden", "Wild", "Cedar",
    "Silver", "True",
)  # fmt: skip
COMPANY_KINDS = ("Coaching", "Wellness", "Studio", "Consulting", "Academy", "Design Co.")

TOPICS = (
    "pricing your offer", "client testimonials", "email list growth", "launch checklists",
    "morning routines", "podcast guesting", "SEO basics", "referral programs",
    "onboarding emails", "time blocking", "Instagram reels", "webinar funnels",
)  # fmt: skip
FORMATS = ("Blog post", "Newsletter", "Case study", "Podcast show notes", "Instagram carousel")
SUBJECTS = (
    "Can't log in to the course", "Refund request", "Video won't play", "Change my billing email",
    "Where is my certificate?", "Charged twice", "Module 4 workbook missing",
    "Upgrade to the coaching tier", "Password reset link expired",
    "Question about the payment plan",
)  # fmt: skip
DEPARTMENTS = ("Sales", "Support", "Content", "Finance")

GOOD_FEEDBACK = ("Great work, thank you!", "Fast and friendly.", "Exactly what I needed.")
BAD_FEEDBACK = ("Took longer than expected.", "Had to ask twice.", "Not quite what I asked for.")

KICKOFF_NOTES: Notes = (
    ("Kickoff call booked for this week.", True),
    ("Welcome packet sent.", True),
    ("Created the client folder and Slack channel.", False),
    ("Call notes added to the client record.", False),
    ("Shared the onboarding questionnaire.", True),
)
ACCESS_NOTES: Notes = (
    ("Set up their portal login and Slack guest access.", False),
    ("Still need to share the Google Drive folders.", False),
    ("Waiting for a quiet hour to do the Stripe and Kajabi access.", False),
)
ONBOARDING_NOTES: dict[str, Notes] = {
    "backlog": (("Contract signed, scheduling the kickoff.", False),),
    "waiting_on_client": (
        ("Friendly reminder: we still need your documents.", True),
        ("Nudged the client by email.", False),
        ("Client says the docs are coming this week.", False),
    ),
    "review": (
        ("Checked the setup against the onboarding checklist.", False),
        ("Two checklist items missing, following up.", False),
        ("Looks good, just confirming the billing contact.", False),
    ),
}
DOCS_REQUEST = (
    "Please upload your logins, brand assets and signed agreement.",
    "Next step: your intake form and account access, please.",
)
DOCS_SENT = (
    "Docs uploaded to the shared folder.",
    "Here are the logins and the signed agreement.",
    "Sent everything over, let me know if anything is missing.",
)

REVISION_NOTES: Notes = (
    ("Reworked the intro.", False),
    ("Added the missing sources.", False),
    ("Tightened the call to action.", False),
)
REVISION_REQUEST = (
    "Sending back: the intro needs work and two claims need sources.",
    "Needs another pass on structure and the call to action.",
    "Client asked for a different angle, please rework.",
)
CONTENT_NOTES: dict[str, Notes] = {
    "backlog": (("Good angle, let's prioritise this one.", False),),
    "active": (
        ("Outline done, writing now.", False),
        ("Added sources and images.", False),
        ("Question for the client about tone of voice.", True),
        ("Draft about 60% done.", False),
        ("Interviewed the client for quotes.", False),
    ),
    "review": (
        ("Line edits in progress.", False),
        ("Checking facts and links.", False),
        ("Formatting for the blog template.", False),
    ),
}

TICKET_REPLY = (
    "Thanks for reaching out! I'm looking into this now.",
    "Hi, thanks for the details. Checking your account now.",
)
TICKET_QUESTION = (
    "Could you send a screenshot of what you see?",
    "Can you confirm the email address you used at checkout?",
)
TICKET_ANSWER = (
    "Here's the screenshot.",
    "Yes, that's the right email.",
    "Still not working, sorry!",
)
TICKET_SOLVED = (
    "All fixed: you should have access now.",
    "I've processed the refund; it shows in 5-10 days.",
    "Done! Let us know if anything else comes up.",
)
TICKET_REOPEN = ("Sorry, it's broken again.", "One more question about this, please.")
SUPPORT_NOTES: dict[str, Notes] = {
    "active": (
        ("Checked Stripe: the payment went through.", False),
        ("Asked Maya about a refund exception.", False),
        ("Reset the course access link.", False),
        ("Known issue with the video player, linked to the bug card.", False),
        ("Quick update: still on it, thanks for your patience.", True),
    ),
}

INVOICE_SENT = ("Invoice sent; payment is due in 14 days.",)
INVOICE_NOTES: dict[str, Notes] = {
    "waiting_on_client": (
        ("Reminder: this invoice is due soon.", True),
        ("Client asked for a PO number, added it.", False),
        ("Payment link resent.", True),
    ),
}

REPORT_NOTES: dict[str, Notes] = {
    "active": (
        ("Pulled the numbers from Stripe and Google Analytics.", False),
        ("Support stats added.", False),
        ("Waiting on last week's ad spend.", False),
    ),
    "review": (
        ("Numbers check out.", False),
        ("Please double-check the refunds line.", False),
    ),
}


def person_name(index: int) -> str:
    """A stable contact name for an index."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[(index * 7 + index // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def company_name(index: int) -> str:
    """A stable company name for a client number."""
    word = COMPANY_WORDS[index % len(COMPANY_WORDS)]
    return f"{word} {COMPANY_KINDS[(index // len(COMPANY_WORDS)) % len(COMPANY_KINDS)]}"
