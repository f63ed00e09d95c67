# Cairn's web app, in English. Every message here has its twin in es.ftl (a test checks).

app-name = Cairn
skip-to-content = Skip to the page's content
nav-label = Places
language-label = Language
nav-home = Home
nav-my-badges = My badges
nav-my-evidence = What I sent
nav-my-credentials = My credentials
nav-learners = Learners
nav-queue = To assess
nav-awards = Awards
nav-sync = Sync and USB
nav-sites = Sites
nav-reconcile = Reconcile
nav-reports = Reports
nav-staff = Staff
nav-catalog = Catalog

## Signing in and out
sign-in = Sign in
sign-out = Sign out
signin-title = Sign in
signin-learners = Learners
signin-staff = Staff
signin-number = Your number
signin-pin = Your PIN
signin-name = Your name
signin-secret = Your PIN or password
signin-wrong = That number or name and PIN do not match. Check them and try again, or ask a staff member to reset your PIN.
signin-held = Too many wrong tries for this account. Wait a while, or ask a staff member to reset the PIN.
signin-busy = Many people are signing in right now. Wait a few seconds and try again.
signin-expired = You were signed out after a time without activity.
idle-warning = This screen returns to the sign-in page soon, to keep your record private.
idle-stay = I am still here
form-expired = This form has expired. Go back, reload the page and try again.

## Problems
problem-title = That did not work
back = Back
back-home = Back to the start
upload-too-large = That is too large: a file may be at most { $limit } MB. Choose a smaller file, or photograph a page instead of scanning it in colour.
upload-cut-short = The upload was cut short. Try again; if it keeps happening, try a smaller file.
error-invalid = Something in the form is not right. Check what you typed and try again.
error-not-found = That is not here. It may have been moved, or the link is old.
error-unauthorized = Your account may not do that. Ask the site admin if you need to.
error-rule = That cannot be done here. Ask the site admin or the hub operator.
error-duplicate = That was already done.
error-forged = That file or record does not carry a valid signature, so it was refused. Nothing was changed.
error-too-many-tries = Too many tries. Wait a while and try again.
error-unreachable = The hub could not be reached. Nothing is lost: the site keeps working and will sync when the link is back, or use a USB stick.
error-node-trouble = The node could not do that just now. Nothing you sent was lost. Tell a staff member; the details are in the service's log.
error-evidence-empty = Write what you did, or add at least one file, before sending.
error-too-many-files = That is too many files: send at most { $max } at a time.
error-file-too-large = { $name } is too large: a file may be at most { $limit } MB.
error-already-awarded = This badge was already awarded.
error-transfer-too-large = This learner's record is too big to move to another site. Nothing was changed. The learner stays at their site.
error-already-assessed = Someone already assessed this evidence.
error-award-needs-proficient = This badge can be awarded only after an assessor finds the evidence proficient.
error-learner-number = A learner's number is 1 to 32 letters, digits, dashes or underscores.
error-email = An email address has an @ and no spaces, such as name@example.org.
error-roster-line = Nothing was imported. { $count ->
    [one] Line { $line } of the roster needs fixing.
   *[other] { $count } lines of the roster need fixing. The first is line { $line }.
} Check that every row has a number, a given name and a family name, that numbers are not already used, and that values are written as the column expects.
error-roster-too-large = A roster may be at most 16 MB and 50,000 learners. Split it into smaller files.
error-roster-empty = The roster has no learners: after the header row, write one row per learner.
error-year-of-birth = The year of birth is a four-digit year, such as 1990.
error-date-format = Write the date as year-month-day, such as 2026-09-14.
error-language = The language is English or Spanish.
error-number-taken = The number { $number } already belongs to a learner. Search for it, or use another number.
error-lives-elsewhere = This learner's record is kept by another site, so it cannot be changed here.
error-staff-secret = Staff who assess, award or manage use a PIN of at least { $min } digits, or a longer password.
error-learner-pin = A learner's PIN is 4 to 12 digits.
error-user-exists = There is already a staff member named { $name }.
error-last-admin = This is the only site admin: give another person the admin role first.
error-no-role = Choose at least one role.
error-text-length = { $field } is missing or too long: at most { $max } characters.
error-text-control = { $field } contains invisible control characters. Type it again without them.
error-catalog-id = The short name is 1 to 64 lower-case letters, digits and dashes, such as forklift-safety.
error-catalog-taken = The catalog already has { $id }. Choose another short name.
error-level = The level is 1, 2 or 3.
error-pathway-parts = Choose the badges that make up the pathway.
error-credits = Credits are a number from 0 to 1000, such as 3 or 1.5.
error-site-id = That is not a whole node id. Copy all of it from the site's sign-up page (56 letters and digits).
error-site-revoked = That site was revoked, and a revoked site stays revoked. The facility needs a new node.
error-not-provisioning = That is not a Cairn provisioning file. Use the file the hub operator sent for this site.
error-provisioning-other-site = That provisioning file is for another site ({ $site }), not this one. Ask the hub operator for this site's file.

## Words for values
unknown = Not known
yes = Yes
no = No
role-earner = Learner account
role-assessor = Assessor
role-issuer = Issuer
role-developer = Catalog developer
role-admin = Site admin
gender-female = Female
gender-male = Male
gender-other = Another gender
race-american-indian-alaska-native = American Indian or Alaska Native
race-asian = Asian
race-black-african-american = Black or African American
race-hispanic-latino = Hispanic or Latino
race-middle-eastern-north-african = Middle Eastern or North African
race-native-hawaiian-pacific-islander = Native Hawaiian or Pacific Islander
race-white = White
status-full-time = Full time
status-part-time = Part time
status-short-term-training = Short-term training
status-self-paced = Self-paced
status-other = Other
decision-proficient = Proficient
decision-not-yet = Not yet
outcome-non-degree-program = Went on to a non-degree program
outcome-degree-program = Went on to a degree program
outcome-wage-increase = Wage increase
outcome-promotion = Promotion
outcome-employer-benefit = Employer benefit
outcome-new-employment = New job
award-kind-achievement = Badge
award-kind-pathway = Micro-credential
award-kind-recognition = Recognition
time-never = Never
time-just-now = Just now
time-minutes-ago = { $n ->
    [one] 1 minute ago
   *[other] { $n } minutes ago
}
time-hours-ago = { $n ->
    [one] 1 hour ago
   *[other] { $n } hours ago
}
time-days-ago = { $n ->
    [one] 1 day ago
   *[other] { $n } days ago
}
entries-count = { $count ->
    [one] 1 entry
   *[other] { $count } entries
}
level-1 = Level 1: foundations
level-2 = Level 2: competency assessment
level-3 = Level 3: work-based application
level-n = Level { $n }

## Fields
field-number = Learner number
field-given-name = Given name
field-family-name = Family name
field-institution = Institution
field-institution-id = Institution's ID for this learner
field-email = Email address
field-year-of-birth = Year of birth
field-gender = Gender
field-race-ethnicity = Race and ethnicity
field-primary-language = Primary language
field-pell-eligible = Pell eligible
field-ses-determination = How socioeconomic status was determined
field-enrollment-status = Enrollment status
field-first-generation = First-generation student
field-first-enrollment = First enrollment date
field-interface-language = Language for these pages
field-pin = PIN
field-new-pin = New PIN
field-outcome = Outcome
field-detail = Details
field-date = Date
field-user-name = Staff name
field-staff-name = Name
field-site-name = Site name
field-reason = Reason
field-name = Name
field-name-es = Name in Spanish
field-description = Description
field-description-es = Description in Spanish
field-criteria = Criteria
field-evidence-requirements = Evidence to send
field-achievement-type = Achievement type
field-program = Program
field-recognizer = Recognized by
field-recognition-target = Badge or micro-credential recognized
field-credits = Credits
field-skill-name = Skill
field-skill-framework = Skill framework
field-skill-code = Skill code
field-skill-address = Skill address
field-narrative = What you did
field-feedback = Feedback
field-file-name = File name
field-hub-address = Hub address
field-catalog-id = Short name
field-level = Level
field-parts = Badges in the pathway, in order
field-roles = Roles
field-secret = PIN or password
field-new-secret = New PIN or password (leave empty to keep it)
field-site-id = The site's node id

## The learner's pages
my-badges-title = My badges
hello-learner = Hello, { $name }.
no-enrollments = You are not enrolled in any badge yet. A staff member can enroll you; then your badges show here.
badge-earned = Earned
badge-in-progress = In progress
badge-not-started = Not started
badge-not-yet = Not yet
badge-waiting = Waiting for review
badge-proficient = Proficient: the award is on its way
micro-earned = Micro-credential earned
other-badges = Other badges
feedback-from-assessor = The assessor says:
feedback-none = No feedback was written.
send-evidence = Send evidence
choose-files = Choose files
choose-file = Choose a file
no-file-chosen = No file chosen
what-to-send = What to send:
narrative-label = What you did
narrative-help = Describe what you did and how. You can also add photos or documents below.
file-label = Files (photos, documents)
file-help = You can choose several files. Each may be at most { $limit } MB.
send = Send
my-evidence-title = What I sent
nothing-sent = You have not sent any evidence yet. Go to My badges to send some.
sent-on = Sent { $date }
my-credentials-title = My credentials
no-credentials = You have no credentials yet. When a badge is awarded, it shows here, ready to print or take with you.
take-away-title = Take them with you
take-away-help = One folder with every credential you earned: the files employers and colleges can check, your complete record, and certificates to print. Save it to a USB stick when you leave.
take-away-button = Download all my credentials
take-away-readme = These are the credentials { $name } earned.{"\u000A"}{"\u000A"}Each .json file is an Open Badges 3.0 credential, signed: an employer or college can check it with any Open Badges verifier, even without the internet. all-credentials.json holds all of them together. Each -certificate.html file opens in a web browser and prints on paper; the signed credential is inside it. The QR code on each certificate holds the signed credential: a phone that scans it checks it on the program's verifier page, with no internet. verify.html is that page: open it in a web browser and paste the link from the code, or hand it to whoever checks.
awarded-on = Awarded { $date }

# A calendar date in words: $year, $month (1 to 12) and $day, as numbers.
date-in-words = { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    } { $day }, { $year }
print-certificate = Print the certificate
download-badge = Download the badge file
print = Print

## Staff pages
staff-home-title = Today
queue-count = { $count ->
    [0] Nothing waiting
    [one] 1 piece of evidence waiting
   *[other] { $count } pieces of evidence waiting
}
ready-count = { $count ->
    [0] Nothing ready to award
    [one] 1 badge ready to award
   *[other] { $count } badges ready to award
}
learners-card = Find, register and update learners.
sync-card = Connection to the hub and USB bundles.
sites-card = Admit, watch and revoke sites.
reconcile-card = Records that need a decision.
reports-card = Completion rates and the codebook file.
staff-card = Who may do what on this node.
catalog-card = The badges and micro-credentials learners can earn.
learners-title = Learners
search-label = Search
search-help = A learner's name or number.
search = Search
register-learner = Register a learner
no-learners-found = No learner matches.
col-name = Name
col-number = Number
col-enrollments = Enrollments
col-awards = Awards
register-title = Register a learner
number-help = The number the learner signs in with, such as the facility's ID number.
institution-id-help = Only if the institution gave the learner its own ID.
email-help = Only if the learner has one and the program carries it, hashed, in credentials.
race-help = Choose every one that applies, or none.
ses-help = For example: Pell eligibility, free school meals, or the learner's own statement.
pin-help = 4 to 12 digits. The learner signs in with it; give it to them privately.
register = Register
enrollments-title = Enrollments
no-enrollments-staff = Not enrolled in anything yet.
attempts-n = { $n ->
    [one] 1 attempt
   *[other] { $n } attempts
}
enroll-in = Enroll in
previously-attempted = Tried this badge before (elsewhere or earlier)
enroll = Enroll
evidence-title = Evidence
nothing-sent-staff = Nothing sent yet.
awards-title = Awards
no-awards-yet = No awards yet.
correct-title = Correct the intake record
save = Save
pin-title = Reset the PIN
reset-pin = Reset the PIN
outcomes-title = Outcomes after the program
record-outcome = Record the outcome
transfer-title = Move to another site
transfer-to = Move to
transfer = Move
queue-title = To assess
queue-empty = Nothing is waiting for assessment.
criteria = Criteria
feedback-label = Feedback for the learner
feedback-help = Say what was done well and, for "not yet", what to do next.
awards-page-title = Awards
ready-title = Ready to award
ready-empty = Nothing is ready to award.
award-button = Award
awarded-title = Awarded

## Sync, USB, joining
sync-title = Sync and USB
sync-at-hub = This is the hub. Sites and their bundles are on the
sync-hub-title = Connection to { $hub }
sync-last-contact = Last contact
sync-last-success = Last complete sync
sync-waiting = Waiting to be sent
sync-now = Sync now
usb-title = Make a USB bundle
usb-help = Where there is no link, carry a bundle to the hub on a USB stick. It holds what the hub does not have yet.
usb-full = Everything, not only what the hub lacks (slower; for a hub that lost its copy)
usb-make = Make the bundle
usb-make-for-site = Make a USB bundle for this site
import-title = Apply a USB bundle
roster-title = Import a roster (CSV)
roster-help = Register many learners at once from a spreadsheet saved as CSV: a header row with the columns number, given_name and family_name, and any other codebook fields (year_of_birth, gender, race_ethnicity, pell_eligible, pin...), then one row per learner. If any row has a problem, nothing is imported and the page says which line to fix.
roster-file-label = Roster file (.csv)
roster-button = Import the learners
roster-missing = Choose the roster file first.
roster-done = Registered { $count } learners ({ $pins } with a kiosk PIN).
import-help = Choose a bundle (a .cairn file) brought from the hub or a site. Anything already here is skipped; anything not signed correctly is refused.
import-file-label = Bundle file
import-button = Apply the bundle
import-file-missing = Choose the bundle file first.
import-done = { $count ->
    [one] Applied the bundle: 1 new entry
   *[other] Applied the bundle: { $count } new entries
} ({ $duplicates } already here).
import-refused = { $count ->
    [one] 1 part of the bundle was refused
   *[other] { $count } parts of the bundle were refused
}: it was not signed by a node this one trusts. Nothing stored was changed. The hub operator can see why in the audit log.
bundle-title = USB bundle
bundle-working = Making the bundle:
bundle-wait-help = This page updates itself. You can leave it and come back: the bundle keeps being made.
bundle-done = The bundle { $name } is ready: { $size }, { $count ->
    [one] 1 entry
   *[other] { $count } entries
}.
bundle-saved-help = It was also saved in the node's USB folder. Download it onto the USB stick and take it to the hub.
download = Download
node-title = This node
node-name = Name
node-id = Node id
node-entries = Records held
node-learners = Learners
node-size = Space used
join-title = Join the program's hub
join-step-id = Give the hub operator this site's id: read it out, send it, or let them scan the code.
join-qr-label = This site's id as a QR code
join-step-wait = The hub operator admits the site and sends back a provisioning file.
join-step-file = Choose that file here. The site then syncs with the hub and receives the catalog.
join-file-label = Provisioning file
join-button = Join the hub
join-file-missing = Choose the provisioning file first.

## Staff users
users-title = Staff
users-list-title = Staff on this node
no-users = No staff yet.
user-inactive = no longer active
user-change = Change { $name }
user-active = Active (may sign in)
secret-help = Admins, assessors and issuers use a PIN of at least 6 digits or a password. Give it to the person privately.
user-add-title = Add a staff member
user-add = Add

## Catalog
catalog-title = Catalog
catalog-empty = The catalog is empty. It arrives from the hub at the first sync or USB bundle.
pathways-title = Micro-credentials
achievements-title = Badges
achievement-add-title = Add a badge
pathway-add-title = Add a micro-credential
recognition-add-title = Add a recognition
catalog-id-help = Lower-case letters, digits and dashes; it cannot change later. For example: forklift-safety.
catalog-add = Add to the catalog

## Hub: sites
sites-title = Sites
no-sites = No site has been admitted yet.
site-revoked = revoked
site-revoked-because = Why it was revoked
site-behind = The hub holds, not yet at the site
site-received = Received from the site
site-files-pending = Evidence files still arriving
site-revoke-title = Revoke { $name }
site-revoke-help = A revoked site can no longer sync, and it stays revoked. Its learners' records stay here; move them to another site.
site-revoke = Revoke the site
site-admit-title = Admit a site
site-admit-help = Ask the site for its id (its Sync page shows it, with a QR code). After admitting it, download the provisioning file and bring or send it to the site.
site-id-help = All 56 letters and digits; dashes and spaces are fine.
hub-address-help = How the site reaches this hub over the network (name or address and port). Leave empty for a site that syncs only by USB.
site-admit = Admit the site
site-admitted = { $name } is admitted.
site-admitted-help = Download its provisioning file and take it to the site (on a USB stick, or by email). At the site, a site admin chooses it under "Join the program's hub".
download-provisioning = Download the provisioning file

## Hub: reconcile
reconcile-title = Reconcile
reconcile-empty = Nothing needs a decision.
duplicates-title = Possibly the same person
duplicates-help = These records look like one person registered twice. Merging keeps one record with everything from both.
merge-keep = Keep { $name }, merge the other into it
conflicts-title = Different values
conflicts-help = Two sites changed the same field at the same time. Choose the right value.
pick-value = The right value
pick = Keep this value
assessments-title = Assessed twice
assessments-help = Two assessors decided on the same evidence at the same time. Choose the assessment that stands.
accept = This one stands
forks-title = Frozen histories
forks-help = A node wrote two different histories (for example, restored from an old backup and kept working). Its later records wait here until the node moves on; nothing is lost.
fork-at = epoch { $epoch }, record { $seq }
revoked-title = Revoked sites with learners
revoked-learners = { $count ->
    [one] 1 learner is
   *[other] { $count } learners are
} still homed at this site (revoked: { $reason }).
revoked-transfer = Open a learner's page to move them to another site.

## Hub: reports
reports-title = Reports
codebook-title = Learner codebook
codebook-help = { $count ->
    [one] One spreadsheet row for 1 learner
   *[other] One spreadsheet row per learner ({ $count } learners)
}, with the program's codebook fields and outcomes.
codebook-download = Download the codebook (CSV)
reports-empty = No micro-credential has learners yet.
chart-by-program = Completion by program
chart-by-site = Completion by site
chart-by-group = Completion by group
chart-by-group-help = All learners, learners impacted by poverty (Pell eligible or as determined), and BIPOC learners.
group-all = All learners
group-poverty = Impacted by poverty
group-bipoc = BIPOC
chart-value = { $completed } of { $attempted } · { $percent } %
chart-nobody = Nobody yet
chart-small = small group
chart-small-help = Grey bars are groups of fewer than { $n } learners: one person changes their rate a lot.
chart-empty = No learners yet.
chart-table = The numbers as a table
chart-col-group = Group
chart-col-completed = Completed
chart-col-attempted = Attempted
chart-col-rate = Rate

## Done
done-registered = The learner is registered.
done-profile-saved = The record is saved.
done-pin-reset = The PIN is reset. Give it to the learner privately.
done-enrolled = Enrolled.
done-outcome-recorded = The outcome is recorded.
done-transferred = The learner was moved. The new site receives the record at its next sync.
done-assessed = The assessment is saved.
done-awarded = Awarded. The credential is signed and ready.
done-evidence-sent = Sent. An assessor will review it.
done-joined = This site joined the hub. It syncs whenever the hub is reachable.
done-synced = Synced with the hub.
done-sync-partial = The sync was cut short; it continues at the next attempt.
done-user-added = The staff member is added.
done-user-changed = The staff member is changed.
done-catalog-added = Added to the catalog. Sites receive it at their next sync.
done-site-revoked = The site is revoked.
done-settled = Settled.

## First run
setup-title = Set up this site
setup-intro = This node has no site yet. Fill this in once; then sign in and join the program's hub.
setup-code = Setup code
setup-code-help = From another computer, type the code the service wrote in its log.
setup-code-wrong = That setup code is not right. It is in the service's log (journalctl -u cairn-site).
setup-code-locked = Too many wrong setup codes: set the site up from a browser on this machine itself.
setup-site = The site
setup-site-help = As people know it, for example: Ellsworth Adult Education, Lab 2.
setup-institution-help = Named on the credentials this site issues.
setup-you = You: the first site admin
setup-you-help = You can register learners, assess, award and add other staff.
setup-pin-help = At least 6 digits, or a password.
setup-pin-again = The PIN again
setup-pins-differ = The two PINs are not the same. Type them again.
setup-button = Set up the site
setup-done = { $name } is set up. Sign in with your name and PIN.

## The printed certificate (credentials/src/certificate.rs)
certificate-certifies = { $issuer } certifies that
certificate-issuer-unnamed = The issuer
certificate-has-earned = has earned
certificate-level = Level { $level }.
certificate-criteria = Criteria
certificate-made-of = Made of
certificate-skills = Skills
certificate-recognized-for = Recognized for
certificate-awarded = Awarded { $date }
certificate-credential-id = Credential { $id }
certificate-program-id = Program { $id }
certificate-signed = Open Badges 3.0, signed with { $suites }
certificate-how-to-check = To check this certificate, scan the code: it holds the signed credential and opens the program's verifier page, which checks it on the phone, offline. The credential file can also be checked with "cairn credential verify" or any Open Badges 3.0 verifier.
certificate-save-file = Save the credential file
