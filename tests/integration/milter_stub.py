"""A small milter for test_milter.py, on python3-milter (pymilter, over Sendmail's libmilter): run as
    milter_stub.py unix:/path/to/socket
By the message: Subject "reject" -> 554 5.7.1 milter says no; "tempfail" -> tempfail; "discard" -> discard;
otherwise an added X-Milter field naming the queue id (macro i) and the authenticated user. Sender
picky@example.net -> every recipient alice@... refused with 550 5.1.1."""
import sys

import Milter


class Stub(Milter.Base):
    def __init__(self):
        self.subject = ""
        self.user = ""

    def envfrom(self, sender, *params):
        self.sender = sender
        self.user = self.getsymval("{auth_authen}") or ""
        return Milter.CONTINUE

    def envrcpt(self, rcpt, *params):
        if self.sender == "<picky@example.net>" and rcpt.startswith("<alice@"):
            self.setreply("550", "5.1.1", "no alice here")
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        if name.lower() == "subject":
            self.subject = value
        return Milter.CONTINUE

    def eom(self):
        if "reject" in self.subject:
            self.setreply("554", "5.7.1", "milter says no")
            return Milter.REJECT
        if "tempfail" in self.subject:
            return Milter.TEMPFAIL
        if "discard" in self.subject:
            return Milter.DISCARD
        self.addheader("X-Milter", f"seen id={self.getsymval('i')} user={self.user or '-'}")
        return Milter.ACCEPT


def main():
    Milter.factory = Stub
    Milter.set_flags(Milter.ADDHDRS)
    Milter.runmilter("stub", sys.argv[1], 60)


if __name__ == "__main__":
    main()
