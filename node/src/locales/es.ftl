# La aplicación web de Cairn, en español. Cada mensaje tiene su gemelo en en.ftl (una prueba lo comprueba).

app-name = Cairn
skip-to-content = Ir al contenido de la página
nav-label = Lugares
language-label = Idioma
nav-home = Inicio
nav-my-badges = Mis insignias
nav-my-evidence = Lo que envié
nav-my-credentials = Mis credenciales
nav-learners = Estudiantes
nav-queue = Por evaluar
nav-awards = Otorgamientos
nav-sync = Sincronizar y USB
nav-sites = Sitios
nav-reconcile = Conciliar
nav-reports = Informes
nav-staff = Personal
nav-catalog = Catálogo

## Entrar y salir
sign-in = Entrar
sign-out = Salir
signin-title = Entrar
signin-learners = Estudiantes
signin-staff = Personal
signin-number = Su número
signin-pin = Su PIN
signin-name = Su nombre
signin-secret = Su PIN o contraseña
signin-wrong = El número o nombre y el PIN no coinciden. Revíselos e inténtelo de nuevo, o pida a alguien del personal que restablezca su PIN.
signin-held = Demasiados intentos fallidos en esta cuenta. Espere un rato, o pida a alguien del personal que restablezca el PIN.
signin-busy = Muchas personas están entrando ahora mismo. Espere unos segundos e inténtelo de nuevo.
signin-expired = Se cerró su sesión tras un tiempo sin actividad.
idle-warning = Esta pantalla volverá pronto a la página de entrada, para proteger su registro.
idle-stay = Sigo aquí
form-expired = Este formulario caducó. Vuelva atrás, recargue la página e inténtelo de nuevo.

## Problemas
problem-title = Eso no funcionó
back = Volver
back-home = Volver al inicio
upload-too-large = Es demasiado grande: cada archivo puede tener como máximo { $limit } MB. Elija un archivo más pequeño, o fotografíe la página en lugar de escanearla en color.
upload-cut-short = La subida se interrumpió. Inténtelo de nuevo; si sigue pasando, pruebe con un archivo más pequeño.
error-invalid = Algo del formulario no está bien. Revise lo que escribió e inténtelo de nuevo.
error-not-found = Eso no está aquí. Puede que se haya movido o que el enlace sea antiguo.
error-unauthorized = Su cuenta no puede hacer eso. Pídaselo a quien administra el sitio si lo necesita.
error-rule = Eso no se puede hacer aquí. Pregunte a quien administra el sitio o al operador del centro.
error-duplicate = Eso ya estaba hecho.
error-forged = Ese archivo o registro no tiene una firma válida, así que se rechazó. No se cambió nada.
error-too-many-tries = Demasiados intentos. Espere un rato e inténtelo de nuevo.
error-unreachable = No se pudo contactar con el centro. No se pierde nada: el sitio sigue funcionando y sincronizará cuando vuelva la conexión, o use una memoria USB.
error-node-trouble = El nodo no pudo hacerlo ahora. No se perdió nada de lo que envió. Avise al personal; los detalles están en el registro del servicio.
error-evidence-empty = Escriba lo que hizo, o añada al menos un archivo, antes de enviar.
error-too-many-files = Son demasiados archivos: envíe como máximo { $max } a la vez.
error-file-too-large = { $name } es demasiado grande: cada archivo puede tener como máximo { $limit } MB.
error-already-awarded = Esta insignia ya se otorgó.
error-transfer-too-large = El expediente de este estudiante es demasiado grande para trasladarlo a otro sitio. No se cambió nada. El estudiante sigue en su sitio.
error-already-assessed = Alguien ya evaluó esta evidencia.
error-award-needs-proficient = Esta insignia solo se puede otorgar cuando un evaluador considera competente la evidencia.
error-learner-number = El número de un estudiante tiene de 1 a 32 letras, dígitos, guiones o guiones bajos.
error-email = Un correo electrónico lleva una @ y ningún espacio, por ejemplo nombre@ejemplo.org.
error-roster-line = No se importó nada. { $count ->
    [one] Hay que corregir la línea { $line } de la lista.
   *[other] Hay que corregir { $count } líneas de la lista. La primera es la línea { $line }.
} Compruebe que cada fila tiene número, nombre y apellido, que los números no están ya en uso y que los valores están escritos como la columna espera.
error-roster-too-large = Una lista puede tener como máximo 16 MB y 50 000 estudiantes. Divídala en archivos más pequeños.
error-roster-empty = La lista no tiene estudiantes: después de la fila de encabezados, escriba una fila por estudiante.
error-year-of-birth = El año de nacimiento es un año de cuatro cifras, como 1990.
error-date-format = Escriba la fecha como año-mes-día, por ejemplo 2026-09-14.
error-language = El idioma es inglés o español.
error-number-taken = El número { $number } ya pertenece a un estudiante. Búsquelo, o use otro número.
error-lives-elsewhere = El registro de este estudiante lo guarda otro sitio, así que no se puede cambiar aquí.
error-staff-secret = El personal que evalúa, otorga o administra usa un PIN de al menos { $min } dígitos, o una contraseña más larga.
error-learner-pin = El PIN de un estudiante tiene de 4 a 12 dígitos.
error-user-exists = Ya hay alguien del personal llamado { $name }.
error-last-admin = Es la única persona que administra el sitio: dé primero el rol de administración a otra persona.
error-no-role = Elija al menos un rol.
error-text-length = Falta { $field } o es demasiado largo: como máximo { $max } caracteres.
error-text-control = { $field } contiene caracteres de control invisibles. Escríbalo de nuevo sin ellos.
error-catalog-id = El nombre corto tiene de 1 a 64 letras minúsculas, dígitos y guiones, por ejemplo seguridad-montacargas.
error-catalog-taken = El catálogo ya tiene { $id }. Elija otro nombre corto.
error-level = El nivel es 1, 2 o 3.
error-pathway-parts = Elija las insignias que forman la ruta.
error-credits = Los créditos son un número de 0 a 1000, como 3 o 1.5.
error-site-id = Ese no es un identificador de nodo completo. Cópielo entero de la página del sitio (56 letras y dígitos).
error-site-revoked = Ese sitio fue revocado, y un sitio revocado sigue revocado. La institución necesita un nodo nuevo.
error-not-provisioning = Ese no es un archivo de aprovisionamiento de Cairn. Use el archivo que envió el operador del centro para este sitio.
error-provisioning-other-site = Ese archivo de aprovisionamiento es de otro sitio ({ $site }), no de este. Pida al operador del centro el archivo de este sitio.

## Palabras para valores
unknown = No se sabe
yes = Sí
no = No
role-earner = Cuenta de estudiante
role-assessor = Evaluación
role-issuer = Otorgamiento
role-developer = Desarrollo del catálogo
role-admin = Administración del sitio
gender-female = Mujer
gender-male = Hombre
gender-other = Otro género
race-american-indian-alaska-native = Indígena americano o nativo de Alaska
race-asian = Asiático
race-black-african-american = Negro o afroamericano
race-hispanic-latino = Hispano o latino
race-middle-eastern-north-african = De Oriente Medio o del Norte de África
race-native-hawaiian-pacific-islander = Nativo de Hawái o de otras islas del Pacífico
race-white = Blanco
status-full-time = Tiempo completo
status-part-time = Tiempo parcial
status-short-term-training = Formación de corta duración
status-self-paced = A su propio ritmo
status-other = Otro
decision-proficient = Competente
decision-not-yet = Todavía no
outcome-non-degree-program = Siguió a un programa sin título
outcome-degree-program = Siguió a un programa de grado
outcome-wage-increase = Aumento de salario
outcome-promotion = Ascenso
outcome-employer-benefit = Beneficio del empleador
outcome-new-employment = Nuevo empleo
award-kind-achievement = Insignia
award-kind-pathway = Microcredencial
award-kind-recognition = Reconocimiento
time-never = Nunca
time-just-now = Ahora mismo
time-minutes-ago = { $n ->
    [one] hace 1 minuto
   *[other] hace { $n } minutos
}
time-hours-ago = { $n ->
    [one] hace 1 hora
   *[other] hace { $n } horas
}
time-days-ago = { $n ->
    [one] hace 1 día
   *[other] hace { $n } días
}
entries-count = { $count ->
    [one] 1 registro
   *[other] { $count } registros
}
level-1 = Nivel 1: fundamentos
level-2 = Nivel 2: evaluación de competencias
level-3 = Nivel 3: aplicación en el trabajo
level-n = Nivel { $n }

## Campos
field-number = Número del estudiante
field-given-name = Nombre
field-family-name = Apellidos
field-institution = Institución
field-institution-id = Identificador de la institución para este estudiante
field-email = Correo electrónico
field-year-of-birth = Año de nacimiento
field-gender = Género
field-race-ethnicity = Raza y etnia
field-primary-language = Idioma principal
field-pell-eligible = Con derecho a beca Pell
field-ses-determination = Cómo se determinó la situación socioeconómica
field-enrollment-status = Tipo de matrícula
field-first-generation = Primera generación en estudios superiores
field-first-enrollment = Fecha de la primera matrícula
field-interface-language = Idioma de estas páginas
field-pin = PIN
field-new-pin = PIN nuevo
field-outcome = Resultado
field-detail = Detalles
field-date = Fecha
field-user-name = Nombre del personal
field-staff-name = Nombre
field-site-name = Nombre del sitio
field-reason = Motivo
field-name = Nombre
field-name-es = Nombre en español
field-description = Descripción
field-description-es = Descripción en español
field-criteria = Criterios
field-evidence-requirements = Evidencia que enviar
field-achievement-type = Tipo de logro
field-program = Programa
field-recognizer = Reconocido por
field-recognition-target = Insignia o microcredencial reconocida
field-credits = Créditos
field-skill-name = Habilidad
field-skill-framework = Marco de habilidades
field-skill-code = Código de la habilidad
field-skill-address = Dirección de la habilidad
field-narrative = Lo que hizo
field-feedback = Comentarios
field-file-name = Nombre del archivo
field-hub-address = Dirección del centro
field-catalog-id = Nombre corto
field-level = Nivel
field-parts = Insignias de la ruta, en orden
field-roles = Roles
field-secret = PIN o contraseña
field-new-secret = PIN o contraseña nuevos (déjelo vacío para mantenerlo)
field-site-id = Identificador de nodo del sitio

## Páginas del estudiante
my-badges-title = Mis insignias
hello-learner = Hola, { $name }.
no-enrollments = Todavía no está inscrito en ninguna insignia. Alguien del personal puede inscribirle; entonces sus insignias aparecerán aquí.
badge-earned = Obtenida
badge-in-progress = En curso
badge-not-started = Sin empezar
badge-not-yet = Todavía no
badge-waiting = Esperando revisión
badge-proficient = Competente: el otorgamiento está en camino
micro-earned = Microcredencial obtenida
other-badges = Otras insignias
feedback-from-assessor = El evaluador dice:
feedback-none = No se escribieron comentarios.
send-evidence = Enviar evidencia
choose-files = Elegir archivos
choose-file = Elegir un archivo
no-file-chosen = Ningún archivo elegido
what-to-send = Qué enviar:
narrative-label = Lo que hizo
narrative-help = Describa lo que hizo y cómo. También puede añadir fotos o documentos abajo.
file-label = Archivos (fotos, documentos)
file-help = Puede elegir varios archivos. Cada uno puede tener como máximo { $limit } MB.
send = Enviar
my-evidence-title = Lo que envié
nothing-sent = Todavía no ha enviado evidencia. Vaya a Mis insignias para enviar.
sent-on = Enviado el { $date }
my-credentials-title = Mis credenciales
no-credentials = Todavía no tiene credenciales. Cuando se otorgue una insignia, aparecerá aquí, lista para imprimir o llevar consigo.
take-away-title = Lléveselas
take-away-help = Una carpeta con todas las credenciales que obtuvo: los archivos que empleadores y universidades pueden comprobar, su registro completo y certificados para imprimir. Guárdela en una memoria USB al salir.
take-away-button = Descargar todas mis credenciales
take-away-readme = Estas son las credenciales que obtuvo { $name }.{"\u000A"}{"\u000A"}Cada archivo .json es una credencial Open Badges 3.0 firmada: un empleador o una universidad puede comprobarla con cualquier verificador de Open Badges, incluso sin internet. all-credentials.json las contiene todas juntas. Cada archivo -certificate.html se abre en un navegador y se imprime en papel; la credencial firmada va dentro. El código QR de cada certificado contiene la credencial firmada: un teléfono que lo escanea la comprueba en la página de verificación del programa, sin internet. verify.html es esa página: ábrala en un navegador y pegue el enlace del código, o entréguela a quien la compruebe.
awarded-on = Otorgada el { $date }

# Una fecha en palabras: $year, $month (1 a 12) y $day, como números.
date-in-words = { $day } de { $month ->
        [1] enero
        [2] febrero
        [3] marzo
        [4] abril
        [5] mayo
        [6] junio
        [7] julio
        [8] agosto
        [9] septiembre
        [10] octubre
        [11] noviembre
       *[12] diciembre
    } de { $year }
print-certificate = Imprimir el certificado
download-badge = Descargar el archivo de la insignia
print = Imprimir

## Páginas del personal
staff-home-title = Hoy
queue-count = { $count ->
    [0] Nada en espera
    [one] 1 evidencia en espera
   *[other] { $count } evidencias en espera
}
ready-count = { $count ->
    [0] Nada listo para otorgar
    [one] 1 insignia lista para otorgar
   *[other] { $count } insignias listas para otorgar
}
learners-card = Buscar, inscribir y actualizar estudiantes.
sync-card = Conexión con el centro y paquetes USB.
sites-card = Admitir, vigilar y revocar sitios.
reconcile-card = Registros que necesitan una decisión.
reports-card = Tasas de finalización y el archivo del libro de códigos.
staff-card = Quién puede hacer qué en este nodo.
catalog-card = Las insignias y microcredenciales que se pueden obtener.
learners-title = Estudiantes
search-label = Buscar
search-help = El nombre o el número de un estudiante.
search = Buscar
register-learner = Inscribir a un estudiante
no-learners-found = Ningún estudiante coincide.
col-name = Nombre
col-number = Número
col-enrollments = Inscripciones
col-awards = Otorgamientos
register-title = Inscribir a un estudiante
number-help = El número con el que entra el estudiante, como su número en la institución.
institution-id-help = Solo si la institución le dio su propio identificador.
email-help = Solo si el estudiante tiene uno y el programa lo incluye, cifrado con hash, en las credenciales.
race-help = Elija todas las que correspondan, o ninguna.
ses-help = Por ejemplo: derecho a beca Pell, comidas escolares gratuitas o la declaración del propio estudiante.
pin-help = De 4 a 12 dígitos. El estudiante entra con él; déselo en privado.
register = Inscribir
enrollments-title = Inscripciones
no-enrollments-staff = Todavía no está inscrito en nada.
attempts-n = { $n ->
    [one] 1 intento
   *[other] { $n } intentos
}
enroll-in = Inscribir en
previously-attempted = Ya intentó esta insignia antes (en otro lugar o antes)
enroll = Inscribir
evidence-title = Evidencia
nothing-sent-staff = Todavía no envió nada.
awards-title = Otorgamientos
no-awards-yet = Todavía no hay otorgamientos.
correct-title = Corregir el registro de ingreso
save = Guardar
pin-title = Restablecer el PIN
reset-pin = Restablecer el PIN
outcomes-title = Resultados después del programa
record-outcome = Registrar el resultado
transfer-title = Trasladar a otro sitio
transfer-to = Trasladar a
transfer = Trasladar
queue-title = Por evaluar
queue-empty = No hay nada esperando evaluación.
criteria = Criterios
feedback-label = Comentarios para el estudiante
feedback-help = Diga qué se hizo bien y, si es «todavía no», qué hacer a continuación.
awards-page-title = Otorgamientos
ready-title = Listo para otorgar
ready-empty = No hay nada listo para otorgar.
award-button = Otorgar
awarded-title = Otorgadas

## Sincronizar, USB, unirse
sync-title = Sincronizar y USB
sync-at-hub = Este es el centro. Los sitios y sus paquetes están en la página
sync-hub-title = Conexión con { $hub }
sync-last-contact = Último contacto
sync-last-success = Última sincronización completa
sync-waiting = Pendiente de enviar
sync-now = Sincronizar ahora
usb-title = Preparar un paquete USB
usb-help = Donde no hay conexión, lleve un paquete al centro en una memoria USB. Contiene lo que el centro todavía no tiene.
usb-full = Todo, no solo lo que le falta al centro (más lento; para un centro que perdió su copia)
usb-make = Preparar el paquete
usb-make-for-site = Preparar un paquete USB para este sitio
import-title = Aplicar un paquete USB
roster-title = Importar una lista (CSV)
roster-help = Registre muchos estudiantes a la vez desde una hoja de cálculo guardada como CSV: una fila de encabezados con las columnas number, given_name y family_name, y cualquier otro campo del libro de códigos (year_of_birth, gender, race_ethnicity, pell_eligible, pin...), y luego una fila por estudiante. Si alguna fila tiene un problema, no se importa nada y la página indica qué línea corregir.
roster-file-label = Archivo de la lista (.csv)
roster-button = Importar los estudiantes
roster-missing = Primero elija el archivo de la lista.
roster-done = Se registraron { $count } estudiantes ({ $pins } con PIN del quiosco).
import-help = Elija un paquete (un archivo .cairn) traído del centro o de un sitio. Lo que ya está aquí se omite; lo que no esté bien firmado se rechaza.
import-file-label = Archivo del paquete
import-button = Aplicar el paquete
import-file-missing = Elija primero el archivo del paquete.
import-done = { $count ->
    [one] Paquete aplicado: 1 registro nuevo
   *[other] Paquete aplicado: { $count } registros nuevos
} ({ $duplicates } ya estaban aquí).
import-refused = { $count ->
    [one] Se rechazó 1 parte del paquete
   *[other] Se rechazaron { $count } partes del paquete
}: no la firmó un nodo en el que este confíe. No se cambió nada de lo guardado. El operador del centro puede ver el motivo en el registro de auditoría.
bundle-title = Paquete USB
bundle-working = Preparando el paquete:
bundle-wait-help = Esta página se actualiza sola. Puede salir y volver: el paquete se sigue preparando.
bundle-done = El paquete { $name } está listo: { $size }, { $count ->
    [one] 1 registro
   *[other] { $count } registros
}.
bundle-saved-help = También se guardó en la carpeta USB del nodo. Descárguelo en la memoria USB y llévelo al centro.
download = Descargar
node-title = Este nodo
node-name = Nombre
node-id = Identificador del nodo
node-entries = Registros guardados
node-learners = Estudiantes
node-size = Espacio usado
join-title = Unirse al centro del programa
join-step-id = Dé al operador del centro el identificador de este sitio: léalo en voz alta, envíelo o deje que escanee el código.
join-qr-label = El identificador de este sitio como código QR
join-step-wait = El operador del centro admite el sitio y le devuelve un archivo de aprovisionamiento.
join-step-file = Elija ese archivo aquí. El sitio se sincroniza entonces con el centro y recibe el catálogo.
join-file-label = Archivo de aprovisionamiento
join-button = Unirse al centro
join-file-missing = Elija primero el archivo de aprovisionamiento.

## Personal
users-title = Personal
users-list-title = Personal de este nodo
no-users = Todavía no hay personal.
user-inactive = ya no está activo
user-change = Cambiar a { $name }
user-active = Activo (puede entrar)
secret-help = Administración, evaluación y otorgamiento usan un PIN de al menos 6 dígitos o una contraseña. Désela a la persona en privado.
user-add-title = Añadir a alguien del personal
user-add = Añadir

## Catálogo
catalog-title = Catálogo
catalog-empty = El catálogo está vacío. Llega del centro con la primera sincronización o el primer paquete USB.
pathways-title = Microcredenciales
achievements-title = Insignias
achievement-add-title = Añadir una insignia
pathway-add-title = Añadir una microcredencial
recognition-add-title = Añadir un reconocimiento
catalog-id-help = Letras minúsculas, dígitos y guiones; no se puede cambiar después. Por ejemplo: seguridad-montacargas.
catalog-add = Añadir al catálogo

## Centro: sitios
sites-title = Sitios
no-sites = Todavía no se ha admitido ningún sitio.
site-revoked = revocado
site-revoked-because = Por qué se revocó
site-behind = Lo tiene el centro y aún no el sitio
site-received = Recibido del sitio
site-files-pending = Archivos de evidencia aún por llegar
site-revoke-title = Revocar { $name }
site-revoke-help = Un sitio revocado ya no puede sincronizar, y sigue revocado. Los registros de sus estudiantes se quedan aquí; trasládelos a otro sitio.
site-revoke = Revocar el sitio
site-admit-title = Admitir un sitio
site-admit-help = Pida al sitio su identificador (su página Sincronizar lo muestra, con un código QR). Después de admitirlo, descargue el archivo de aprovisionamiento y llévelo o envíelo al sitio.
site-id-help = Las 56 letras y dígitos; los guiones y espacios no importan.
hub-address-help = Cómo llega el sitio a este centro por la red (nombre o dirección y puerto). Déjelo vacío para un sitio que solo sincroniza por USB.
site-admit = Admitir el sitio
site-admitted = { $name } está admitido.
site-admitted-help = Descargue su archivo de aprovisionamiento y llévelo al sitio (en una memoria USB o por correo). En el sitio, alguien de administración lo elige en «Unirse al centro del programa».
download-provisioning = Descargar el archivo de aprovisionamiento

## Centro: conciliar
reconcile-title = Conciliar
reconcile-empty = Nada necesita una decisión.
duplicates-title = Posiblemente la misma persona
duplicates-help = Estos registros parecen una persona inscrita dos veces. Al fusionarlos se conserva un registro con todo lo de ambos.
merge-keep = Conservar { $name } y fusionar el otro en él
conflicts-title = Valores distintos
conflicts-help = Dos sitios cambiaron el mismo campo a la vez. Elija el valor correcto.
pick-value = El valor correcto
pick = Conservar este valor
assessments-title = Evaluado dos veces
assessments-help = Dos evaluadores decidieron sobre la misma evidencia a la vez. Elija la evaluación que vale.
accept = Esta vale
forks-title = Historiales congelados
forks-help = Un nodo escribió dos historiales distintos (por ejemplo, se restauró una copia antigua y siguió trabajando). Sus registros posteriores esperan aquí hasta que el nodo avance; no se pierde nada.
fork-at = época { $epoch }, registro { $seq }
revoked-title = Sitios revocados con estudiantes
revoked-learners = { $count ->
    [one] 1 estudiante sigue
   *[other] { $count } estudiantes siguen
} asignados a este sitio (revocado: { $reason }).
revoked-transfer = Abra la página de un estudiante para trasladarlo a otro sitio.

## Centro: informes
reports-title = Informes
codebook-title = Libro de códigos de estudiantes
codebook-help = { $count ->
    [one] Una fila de hoja de cálculo para 1 estudiante
   *[other] Una fila de hoja de cálculo por estudiante ({ $count } estudiantes)
}, con los campos del libro de códigos del programa y los resultados.
codebook-download = Descargar el libro de códigos (CSV)
reports-empty = Ninguna microcredencial tiene estudiantes todavía.
chart-by-program = Finalización por programa
chart-by-site = Finalización por sitio
chart-by-group = Finalización por grupo
chart-by-group-help = Todos los estudiantes, los afectados por la pobreza (con derecho a beca Pell o según se determinó) y los estudiantes BIPOC.
group-all = Todos los estudiantes
group-poverty = Afectados por la pobreza
group-bipoc = BIPOC
chart-value = { $completed } de { $attempted } · { $percent } %
chart-nobody = Nadie todavía
chart-small = grupo pequeño
chart-small-help = Las barras grises son grupos de menos de { $n } estudiantes: una sola persona cambia mucho su tasa.
chart-empty = Todavía no hay estudiantes.
chart-table = Los números en una tabla
chart-col-group = Grupo
chart-col-completed = Terminaron
chart-col-attempted = Lo intentaron
chart-col-rate = Tasa

## Hecho
done-registered = El estudiante está inscrito.
done-profile-saved = El registro está guardado.
done-pin-reset = El PIN está restablecido. Déselo al estudiante en privado.
done-enrolled = Inscrito.
done-outcome-recorded = El resultado está registrado.
done-transferred = El estudiante fue trasladado. El nuevo sitio recibe el registro en su próxima sincronización.
done-assessed = La evaluación está guardada.
done-awarded = Otorgada. La credencial está firmada y lista.
done-evidence-sent = Enviado. Un evaluador lo revisará.
done-joined = Este sitio se unió al centro. Se sincroniza cuando el centro está disponible.
done-synced = Sincronizado con el centro.
done-sync-partial = La sincronización se interrumpió; continúa en el próximo intento.
done-user-added = La persona del personal está añadida.
done-user-changed = La persona del personal está cambiada.
done-catalog-added = Añadido al catálogo. Los sitios lo reciben en su próxima sincronización.
done-site-revoked = El sitio está revocado.
done-settled = Resuelto.

## Primera vez
setup-title = Configurar este sitio
setup-intro = Este nodo todavía no tiene sitio. Rellene esto una vez; después entre y únase al centro del programa.
setup-code = Código de configuración
setup-code-help = Desde otro ordenador, escriba el código que el servicio escribió en su registro.
setup-code-wrong = Ese código de configuración no es correcto. Está en el registro del servicio (journalctl -u cairn-site).
setup-code-locked = Demasiados códigos incorrectos: configure el sitio desde un navegador en esta misma máquina.
setup-site = El sitio
setup-site-help = Como lo conoce la gente, por ejemplo: Educación de Adultos Ellsworth, Aula 2.
setup-institution-help = Aparece en las credenciales que otorga este sitio.
setup-you = Usted: la primera persona de administración
setup-you-help = Puede inscribir estudiantes, evaluar, otorgar y añadir a otras personas del personal.
setup-pin-help = Al menos 6 dígitos, o una contraseña.
setup-pin-again = El PIN otra vez
setup-pins-differ = Los dos PIN no son iguales. Escríbalos de nuevo.
setup-button = Configurar el sitio
setup-done = { $name } está configurado. Entre con su nombre y su PIN.

## El certificado impreso (credentials/src/certificate.rs)
certificate-certifies = { $issuer } certifica que
certificate-issuer-unnamed = El emisor
certificate-has-earned = ha obtenido
certificate-level = Nivel { $level }.
certificate-criteria = Criterios
certificate-made-of = Compuesto por
certificate-skills = Habilidades
certificate-recognized-for = Reconocido para
certificate-awarded = Otorgado el { $date }
certificate-credential-id = Credencial { $id }
certificate-program-id = Programa { $id }
certificate-signed = Open Badges 3.0, firmado con { $suites }
certificate-how-to-check = Para comprobar este certificado, escanee el código: contiene la credencial firmada y abre la página de verificación del programa, que la comprueba en el teléfono, sin internet. El archivo de la credencial también se puede comprobar con "cairn credential verify" o con cualquier verificador de Open Badges 3.0.
certificate-save-file = Guardar el archivo de la credencial
