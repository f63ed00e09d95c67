//! The kiosk's words in English and Spanish, chosen per person (a learner's profile language,
//! or the language picked on the sign-in screen).

/// A language the kiosk speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// From a code such as `es` or `es-MX`; English otherwise.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().to_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// The code for `lang=` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
}

/// A phrase in the given language.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let (en, es) = match key {
        "title" => ("Cairn learning kiosk", "Quiosco de aprendizaje Cairn"),
        "learner_signin" => ("Learners: sign in", "Estudiantes: iniciar sesión"),
        "staff_signin" => ("Staff: sign in", "Personal: iniciar sesión"),
        "number" => ("Learner number", "Número de estudiante"),
        "pin" => ("PIN", "PIN"),
        "name" => ("Name", "Nombre"),
        "secret" => ("PIN or password", "PIN o contraseña"),
        "signin" => ("Sign in", "Entrar"),
        "signout" => ("Sign out", "Salir"),
        "wrong" => (
            "That number and PIN do not match. Try again.",
            "El número y el PIN no coinciden. Inténtelo de nuevo.",
        ),
        "locked" => (
            "Too many wrong tries. Wait a few minutes or ask a staff member.",
            "Demasiados intentos fallidos. Espere unos minutos o pida ayuda al personal.",
        ),
        "expired" => (
            "You were signed out after a period without activity.",
            "Se cerró su sesión por inactividad.",
        ),
        "my_badges" => ("My badges", "Mis insignias"),
        "earned" => ("Earned", "Obtenida"),
        "in_progress" => ("In progress", "En curso"),
        "not_started" => ("Not started", "Sin comenzar"),
        "micro" => ("Micro-credential", "Microcredencial"),
        "level" => ("Level", "Nivel"),
        "submit_evidence" => ("Submit evidence", "Enviar evidencia"),
        "narrative" => (
            "What you did, in your own words",
            "Lo que hizo, en sus propias palabras",
        ),
        "file" => ("File (optional)", "Archivo (opcional)"),
        "send" => ("Send", "Enviar"),
        "sent" => (
            "Your evidence was saved. An assessor will review it.",
            "Su evidencia se guardó. Un evaluador la revisará.",
        ),
        "waiting" => (
            "Evidence sent; waiting for review.",
            "Evidencia enviada; en espera de revisión.",
        ),
        "other_badges" => ("Other badges", "Otras insignias"),
        "nothing" => ("Nothing here yet.", "Todavía no hay nada aquí."),
        "staff" => ("Staff", "Personal"),
        "queue" => ("Evidence to assess", "Evidencia por evaluar"),
        "proficient" => ("Proficient", "Competente"),
        "not_yet" => ("Not yet", "Todavía no"),
        "feedback" => ("Feedback", "Comentarios"),
        "decide" => ("Record decision", "Registrar decisión"),
        "to_award" => ("Ready to award", "Listo para otorgar"),
        "award" => ("Award the badge", "Otorgar la insignia"),
        "awards" => ("Awards", "Insignias otorgadas"),
        "print" => ("Print certificate", "Imprimir certificado"),
        "sync" => ("Sync and USB bundles", "Sincronización y memorias USB"),
        "make_bundle" => (
            "Make a USB bundle for the hub",
            "Crear un paquete USB para el centro",
        ),
        "bundle_made" => ("Bundle written", "Paquete creado"),
        "download" => ("Download", "Descargar"),
        "last_contact" => ("Last contact with the hub", "Último contacto con el centro"),
        "never" => ("never", "nunca"),
        "pending" => (
            "Entries the hub has not received",
            "Registros que el centro no ha recibido",
        ),
        "not_allowed" => (
            "You are not allowed to see that page.",
            "No tiene permiso para ver esa página.",
        ),
        "error" => ("Something went wrong", "Algo salió mal"),
        "node_trouble" => (
            "This kiosk could not finish that. Nothing you sent was lost; tell a staff member (the details are in the node's log).",
            "Este quiosco no pudo terminar eso. No se perdió nada de lo que envió; avise al personal (los detalles están en el registro del nodo).",
        ),
        "busy" => (
            "Sign-in is busy. Wait a moment and try again.",
            "El inicio de sesión está ocupado. Espere un momento e inténtelo de nuevo.",
        ),
        "back" => ("Back", "Volver"),
        _ => ("?", "?"),
    };
    match lang {
        Lang::En => en,
        Lang::Es => es,
    }
}
