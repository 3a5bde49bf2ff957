// What SMTP and LMTP learn about a message besides its text: the envelope of RFC 5321 and the delivery
// status notification parameters of RFC 3461, kept with the message for the mailstore and the queue hook
// (a store that forwards mail or sends DSNs needs them; Maildir keeps only the Return-Path header the session
// writes). Valid for the call that receives it (on_smtp()), or until the delivery that begin() started ends;
// copy what you keep.
#pragma once

#include <string>
#include <vector>

namespace mailwright::plugin {

struct envelope_recipient {
    std::string address;  // the forward-path as the client gave it, without angle brackets
    // The local users whose mailboxes receive the message: one, or those an alias names (hook::resolve).
    std::vector<std::string> users;
    std::string notify;  // RFC 3461 NOTIFY as given ("NEVER", "SUCCESS,FAILURE", ...); empty when absent
    std::string orcpt;   // RFC 3461 ORCPT as given ("rfc822;bob@example.org", in xtext); empty when absent
};

struct envelope {
    std::string id;      // the server's id of the message: in the Received header, the 250 reply, the log
    std::string sender;  // the reverse-path without angle brackets; empty for the null path "<>"
    std::vector<envelope_recipient> recipients;  // in the order the client gave them
    std::string body = "7BIT";                   // BODY: 7BIT, 8BITMIME or BINARYMIME (RFC 6152, RFC 3030)
    bool smtputf8 = false;                       // SMTPUTF8 was given (RFC 6531)
    std::string ret;                             // RFC 3461 RET: FULL or HDRS; empty when absent
    std::string envid;                           // RFC 3461 ENVID (xtext); empty when absent
    std::string authenticated_user;              // who submitted it after AUTH; empty without
    // SMTP: the client hears one reply for every recipient (LMTP: one each). A store that cannot deliver to
    // some should then deliver to none: those it did reach would get the message again when the client retries.
    bool one_reply = false;
};

}  // namespace mailwright::plugin
