"""Referrals (转介): a station proposes a project for a need, civil-affairs staff approve, the
charity accepts and delivers. One module per concept, each imported from where it lives:

- :mod:`.workflow` — the steps from draft to completion or cancellation, the table of steps
  each party may take, the sweeps the scheduled jobs run, and batch approval;
- :mod:`.guards` — what every step checks first: the party, the scope, the version, the need's
  state and the household's consent;
- :mod:`.places` — a project's places and money, taken on approval and given back;
- :mod:`.notices` — who is told of each step;
- :mod:`.episodes` — the visits, sessions and payments logged while in service;
- :mod:`.views` — lists, queues and one referral as each party may see it, and the contact a
  charity may open once it has accepted;
- :mod:`.back_referrals` — 双向转介: a charity tells the office of a household it has met;
- :mod:`.chain` — a household's 救助链: its government aid and its referrals, newest first.

The sets of states the rules speak of are defined beside ``ReferralStatus`` in
``models/enums.py``.
"""
